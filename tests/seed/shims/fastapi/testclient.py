"""FastAPI's TestClient, as the seed test uses it, sending real HTTP to UVIS_BASE_URL."""
from http_session import Session


class TestClient(Session):
    def __init__(self, app, base_url=None):
        super().__init__(base_url)
