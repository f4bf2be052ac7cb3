#!/bin/bash
# One-shot, run by the `kafka-init` service once the broker is healthy:
# creates the SCRAM-SHA-512 credentials sourced connects with. Idempotent
# (a second run sets the same password again).
set -eu
# kafka-configs reads the SCRAM password from its command line only; this
# container lives for a second and runs nothing else.
/opt/kafka/bin/kafka-configs.sh --bootstrap-server kafka:9092 \
  --command-config /etc/kafka/secrets/admin.properties \
  --alter --entity-type users --entity-name sourced \
  --add-config "SCRAM-SHA-512=[iterations=8192,password=$(cat /etc/kafka/secrets/sourced-password)]" >/dev/null
echo "kafka-init: SCRAM-SHA-512 user sourced ready"
