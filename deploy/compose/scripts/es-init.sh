#!/bin/bash
# One-shot, run by the `es-init` service once Elasticsearch is healthy:
# creates the role and the user sourced writes its views with (least
# privilege: its own indices and aliases only). Idempotent.
set -eu
ES=https://es01:9200
curl_es() {
  curl --fail-with-body -sS --cacert /secrets/es/ca.crt -u "elastic:$(cat /secrets/es/elastic-password)" \
    -H 'Content-Type: application/json' "$@"
}
curl_es -X PUT "$ES/_security/role/sourced" -d '{
  "cluster": ["monitor"],
  "indices": [{
    "names": ["invoice-search*", "invoice-history*", "profile*"],
    "privileges": ["create_index", "delete_index", "manage", "read", "write", "view_index_metadata"]
  }]
}'
echo
# The password goes in the body through stdin, never on a command line.
printf '{"password":"%s","roles":["sourced"]}' "$(cat /secrets/es/sourced-password)" |
  curl_es -X PUT "$ES/_security/user/sourced" --data-binary @-
echo
echo "es-init: role and user sourced ready"
