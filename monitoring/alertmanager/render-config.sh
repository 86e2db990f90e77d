#!/bin/sh
# Renders alertmanager.yml.template with the environment, then starts Alertmanager
# (the image has no envsubst). Fails fast when a variable is missing.
set -eu
template=${1:-/etc/alertmanager/alertmanager.yml.template}
output=${2:-/tmp/alertmanager.yml}
for name in SMTP_SMARTHOST ALERT_EMAIL_FROM SMTP_USERNAME SLACK_CHANNEL ALERT_EMAIL_TO; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then echo "render-config: $name is not set" >&2; exit 1; fi
done
sed -e "s|\${SMTP_SMARTHOST}|$SMTP_SMARTHOST|g" \
    -e "s|\${ALERT_EMAIL_FROM}|$ALERT_EMAIL_FROM|g" \
    -e "s|\${SMTP_USERNAME}|$SMTP_USERNAME|g" \
    -e "s|\${SLACK_CHANNEL}|$SLACK_CHANNEL|g" \
    -e "s|\${ALERT_EMAIL_TO}|$ALERT_EMAIL_TO|g" \
    "$template" > "$output"
if [ "${RENDER_ONLY:-}" = "1" ]; then exit 0; fi
exec /bin/alertmanager --config.file="$output" --storage.path=/alertmanager "$@"
