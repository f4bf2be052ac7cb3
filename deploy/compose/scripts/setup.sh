#!/bin/bash
# One-shot, run by the `setup` service in the Elasticsearch image (it has
# elasticsearch-certutil): creates a private CA, the TLS certificates of
# Elasticsearch and Kafka, and random passwords and tokens, each in the
# volume of the services that need it. Existing files are kept, so a
# restart does not rotate anything; `docker compose down -v` does.
set -eu
umask 077

secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
keep() { [ -s "$1" ] || { secret >"$1"; }; }

CA=/secrets/ca ES=/secrets/es KAFKA=/secrets/kafka SOURCED=/secrets/sourced GRAFANA=/secrets/grafana
mkdir -p "$CA" "$ES" "$KAFKA" "$SOURCED" "$GRAFANA"
cd /usr/share/elasticsearch

if [ ! -s "$CA/ca.crt" ]; then
  echo "setup: creating the CA"
  bin/elasticsearch-certutil ca --silent --pem --days 1095 --out /tmp/ca.zip
  unzip -o -q /tmp/ca.zip -d /tmp/ca
  cp /tmp/ca/ca/ca.crt /tmp/ca/ca/ca.key "$CA/"
fi

if [ ! -s "$ES/es01.crt" ]; then
  echo "setup: creating the Elasticsearch certificate"
  bin/elasticsearch-certutil cert --silent --pem --days 825 --name es01 --dns es01,localhost --ip 127.0.0.1 \
    --ca-cert "$CA/ca.crt" --ca-key "$CA/ca.key" --out /tmp/es01.zip
  unzip -o -q /tmp/es01.zip -d /tmp/es01
  cp /tmp/es01/es01/es01.crt /tmp/es01/es01/es01.key "$ES/"
fi
cp "$CA/ca.crt" "$ES/ca.crt"
keep "$ES/elastic-password"
keep "$ES/sourced-password"

keep "$KAFKA/keystore-password"
if [ ! -s "$KAFKA/kafka.p12" ]; then
  echo "setup: creating the Kafka keystore"
  bin/elasticsearch-certutil cert --silent --days 825 --name kafka --dns kafka,localhost \
    --ca-cert "$CA/ca.crt" --ca-key "$CA/ca.key" --pass "$(cat "$KAFKA/keystore-password")" --out "$KAFKA/kafka.p12"
fi
cp "$CA/ca.crt" "$KAFKA/ca.crt"
keep "$KAFKA/admin-password"
keep "$KAFKA/sourced-password"
# The broker's JAAS: PLAIN for the broker itself and the admin tools (a
# static user), SCRAM-SHA-512 for sourced (users created by kafka-init).
cat >"$KAFKA/kafka_server_jaas.conf" <<JAAS
KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
    username="admin" password="$(cat "$KAFKA/admin-password")"
    user_admin="$(cat "$KAFKA/admin-password")";
  org.apache.kafka.common.security.scram.ScramLoginModule required;
};
JAAS
# Client settings of the Kafka command-line tools (health check, kafka-init).
cat >"$KAFKA/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$(cat "$KAFKA/admin-password")";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/secrets/ca.crt
PROPS

# What sourced reads: the CA, its Kafka and Elasticsearch passwords, and
# the gateway's tokens.
cp "$CA/ca.crt" "$SOURCED/ca.crt"
cp "$KAFKA/sourced-password" "$SOURCED/sasl-password"
cp "$ES/sourced-password" "$SOURCED/es-password"
keep "$SOURCED/gateway-token"
printf '%s write\n' "$(cat "$SOURCED/gateway-token")" >"$SOURCED/gateway-tokens"

keep "$GRAFANA/admin-password"

# Each image runs as its own user: Elasticsearch as 1000 (group 0), Kafka
# as appuser (1000:1000), sourced as 65532, Grafana as 472.
chown -R 0:0 "$CA" && chmod 0700 "$CA"
chown -R 1000:0 "$ES" && chmod 0750 "$ES" && chmod 0440 "$ES"/*
chown -R 1000:1000 "$KAFKA" && chmod 0750 "$KAFKA" && chmod 0440 "$KAFKA"/*
chown -R 65532:65532 "$SOURCED" && chmod 0750 "$SOURCED" && chmod 0440 "$SOURCED"/*
chown -R 472:0 "$GRAFANA" && chmod 0750 "$GRAFANA" && chmod 0440 "$GRAFANA"/*
echo "setup: done"
