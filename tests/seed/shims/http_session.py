"""A tiny requests-like session over urllib: enough for the seed's clients."""
import json
import os
import urllib.error
import urllib.parse
import urllib.request


class Response:
    def __init__(self, status_code, body):
        self.status_code = status_code
        self.text = body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.text)


class Session:
    def __init__(self, base_url=None):
        self.base_url = (base_url or os.environ["UVIS_BASE_URL"]).rstrip("/")

    def request(self, method, url, data=None, json_body=None, headers=None):
        headers = dict(headers or {})
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base_url + url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return Response(res.status, res.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.read())

    def get(self, url, headers=None, **_):
        return self.request("GET", url, headers=headers)

    def post(self, url, data=None, json=None, headers=None, **_):
        return self.request("POST", url, data=data, json_body=json, headers=headers)

    def put(self, url, data=None, json=None, headers=None, **_):
        return self.request("PUT", url, data=data, json_body=json, headers=headers)
