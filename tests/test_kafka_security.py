"""Kafka TLS and SASL (issue 13 item 2): one set of environment variables gives our own
kafka-python clients their keyword arguments and the CockroachDB changefeed its sink URI
(https://www.cockroachlabs.com/docs/stable/changefeed-sinks#kafka); secrets never shown.

The embedded broker speaks neither TLS nor SASL, so against it only PLAINTEXT can succeed; what
a TLS or SASL client does there (a sentence, within seconds, not a hang) is checked too. A small
TLS server of the test's own checks the TLS pre-flight with a CA of the test's own."""

from __future__ import annotations

import argparse
import logging
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from changefeed import cli, security, tail, topics
from changefeed import relay as relay_module
from changefeed import worker as worker_module
from changefeed.config import RelayConfig
from changefeed.relay import Relay
from changefeed.security import KafkaSettingsError, client_settings, from_env, sink_uri
from queries import changefeed_jobs, dialect
from tests.cdc_helpers import unique_prefix

PASSWORD = "p@ss/w:rd&=+ %"                     # every character the URI must encode
ENCODED_PASSWORD = "p%40ss%2Fw%3Ard%26%3D%2B%20%25"
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIB~~??>>\n-----END CERTIFICATE-----\n"
CA_B64 = ("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJ%2Bfj8%2FPj4KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo"
          "%3D")  # base64 of CA_PEM ('+', '/', '=' percent-encoded: Go's query parser reads '+' as ' ')

SECURITY_VARIABLES = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                      "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE",
                      "KAFKA_SSL_KEYFILE", "KAFKA_SINK_URI", "KAFKA_EXTERNAL_CONNECTION")


@pytest.fixture(autouse=True)
def clean_security_environment(monkeypatch):
    for name in SECURITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ca_file(tmp_path) -> str:
    path = tmp_path / "ca.pem"
    path.write_bytes(CA_PEM)
    return str(path)


# ---- the sink URI for each combination --------------------------------------------------------

def test_plaintext_names_the_first_broker_and_the_prefix_only():
    # The sink URI names one host; the sink learns the rest of the cluster from it.
    assert sink_uri("kafka-1:9092,kafka-2:9092", "prod_", environ={}) == \
        "kafka://kafka-1:9092?topic_prefix=prod_"
    assert sink_uri("kafka-1:9092", "", environ={"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}) == \
        "kafka://kafka-1:9092"


def test_tls_with_a_ca_file_sends_the_ca_base64_encoded(ca_file):
    env = {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": ca_file}
    assert sink_uri("b-1.msk:9094,b-2.msk:9094", "prod_", environ=env) == \
        f"kafka://b-1.msk:9094?topic_prefix=prod_&tls_enabled=true&ca_cert={CA_B64}"
    # Without a CA file: the system's CAs on both sides, so only tls_enabled.
    assert sink_uri("b-1.msk:9094", "", environ={"KAFKA_SECURITY_PROTOCOL": "ssl"}) == \
        "kafka://b-1.msk:9094?tls_enabled=true"


def test_tls_with_a_client_certificate_sends_certificate_and_key(tmp_path, ca_file):
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"C")
    key.write_bytes(b"K")
    env = {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": str(cert),
           "KAFKA_SSL_KEYFILE": str(key)}
    assert sink_uri("k:9093", "", environ=env) == \
        "kafka://k:9093?tls_enabled=true&client_cert=Qw%3D%3D&client_key=Sw%3D%3D"


def test_sasl_plain_over_tls_as_confluent_cloud_wants_it():
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN",
           "KAFKA_SASL_USERNAME": "ABCDEFKEY", "KAFKA_SASL_PASSWORD": PASSWORD}
    assert sink_uri("pkc-123.europe-west1.gcp.confluent.cloud:9092", "", environ=env) == (
        "kafka://pkc-123.europe-west1.gcp.confluent.cloud:9092?tls_enabled=true&sasl_enabled=true"
        f"&sasl_mechanism=PLAIN&sasl_user=ABCDEFKEY&sasl_password={ENCODED_PASSWORD}")
    # PLAIN is the default mechanism, as it is CockroachDB's.
    del env["KAFKA_SASL_MECHANISM"]
    assert "sasl_mechanism=PLAIN&" in sink_uri("k:9092", "", environ=env)


def test_scram_sha_512_over_tls_with_a_ca_as_msk_wants_it(ca_file):
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "scram-sha-512",
           "KAFKA_SASL_USERNAME": "stockroom", "KAFKA_SASL_PASSWORD": PASSWORD,
           "KAFKA_SSL_CAFILE": ca_file}
    assert sink_uri("b-1.msk:9096,b-2.msk:9096", "prod_", environ=env) == (
        f"kafka://b-1.msk:9096?topic_prefix=prod_&tls_enabled=true&ca_cert={CA_B64}"
        "&sasl_enabled=true&sasl_mechanism=SCRAM-SHA-512&sasl_user=stockroom"
        f"&sasl_password={ENCODED_PASSWORD}")


def test_sasl_without_tls_enables_sasl_only():
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
           "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "pw"}
    assert sink_uri("k:9092", "", environ=env) == \
        "kafka://k:9092?sasl_enabled=true&sasl_mechanism=SCRAM-SHA-256&sasl_user=u&sasl_password=pw"


def test_an_external_connection_replaces_the_uri():
    env = {"KAFKA_EXTERNAL_CONNECTION": "stockroom_kafka", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
           "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": PASSWORD}
    assert sink_uri("k:9092", "prod_", environ=env) == "external://stockroom_kafka"
    sql = dialect.changefeed_statement(["stock"], sink_uri(None, "", environ=env))
    assert "INTO 'external://stockroom_kafka' WITH" in sql


def test_kafka_sink_uri_is_used_as_given():
    given = "kafka://broker.internal:9093?topic_prefix=prod_&tls_enabled=true&insecure_tls_skip_verify=true"
    assert sink_uri("ignored:9092", "prod_", environ={"KAFKA_SINK_URI": given}) == given
    assert sink_uri(None, "", environ={"KAFKA_SINK_URI": "confluent-cloud://pkc-1:9092"}) == \
        "confluent-cloud://pkc-1:9092"


def test_the_changefeed_statement_carries_the_generated_uri(ca_file):
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
           "KAFKA_SASL_USERNAME": "stockroom", "KAFKA_SASL_PASSWORD": "it's"}
    sql = dialect.changefeed_statement(["stock"], sink_uri("k:9092", "", environ=env))
    assert ("INTO 'kafka://k:9092?tls_enabled=true&sasl_enabled=true&sasl_mechanism=SCRAM-SHA-512"
            "&sasl_user=stockroom&sasl_password=it%27s' WITH") in sql


# ---- the kafka-python keyword arguments -------------------------------------------------------

def test_client_settings_for_each_combination(ca_file, tmp_path):
    assert client_settings({}) == {"security_protocol": "PLAINTEXT"}
    assert client_settings({"KAFKA_SECURITY_PROTOCOL": "SSL"}) == {"security_protocol": "SSL"}
    assert client_settings({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": ca_file}) == \
        {"security_protocol": "SSL", "ssl_cafile": ca_file}
    cert, key = tmp_path / "c.pem", tmp_path / "c.key"
    cert.write_text("c")
    key.write_text("k")
    assert client_settings({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": str(cert),
                            "KAFKA_SSL_KEYFILE": str(key)}) == \
        {"security_protocol": "SSL", "ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    assert client_settings({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "KEY",
                            "KAFKA_SASL_PASSWORD": PASSWORD}) == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "KEY", "sasl_plain_password": PASSWORD}
    assert client_settings({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": ca_file,
                            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "u",
                            "KAFKA_SASL_PASSWORD": PASSWORD}) == {
        "security_protocol": "SASL_SSL", "ssl_cafile": ca_file, "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "u", "sasl_plain_password": PASSWORD}
    assert client_settings({"KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
                            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "u",
                            "KAFKA_SASL_PASSWORD": "pw"}) == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "u", "sasl_plain_password": "pw"}


def test_every_client_factory_carries_the_settings(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "u")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    expected = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": "u", "sasl_plain_password": PASSWORD}
    for settings in (relay_module.producer_settings("a:9092,b:9092"),
                     worker_module.consumer_settings("a:9092,b:9092", "g")):
        assert {k: settings[k] for k in expected} == expected
        assert settings["bootstrap_servers"] == "a:9092,b:9092"   # every broker, not the first


# ---- refusals: a sentence naming the variable, never the password -------------------------------

@pytest.mark.parametrize(("env", "variable", "words"), [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL", "not a Kafka security protocol"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": PASSWORD},
     "KAFKA_SASL_USERNAME", "must be set"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"},
     "KAFKA_SASL_PASSWORD", "must be set"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SASL-SCRAM-SHA-512",
      "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": PASSWORD},
     "KAFKA_SASL_MECHANISM", "use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"},
     "KAFKA_SSL_CAFILE", "/nonexistent/ca.pem, which is not a file"),
    ({"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": PASSWORD},
     "KAFKA_SASL_USERNAME", "KAFKA_SECURITY_PROTOCOL is PLAINTEXT, which does not authenticate"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SASL_PASSWORD": PASSWORD},
     "KAFKA_SASL_PASSWORD", "which does not authenticate with SASL"),
    ({"KAFKA_SSL_CAFILE": "/etc/hostname"}, "KAFKA_SSL_CAFILE", "which does not use TLS"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": "/etc/hostname"},
     "KAFKA_SSL_CERTFILE", "is set without KAFKA_SSL_KEYFILE"),
])
def test_invalid_settings_are_refused_in_a_sentence_naming_the_variable(env, variable, words):
    with pytest.raises(KafkaSettingsError) as refused:
        from_env(env)
    message = str(refused.value)
    assert variable in message and words in message, message
    assert message.endswith(".") and PASSWORD not in message
    with pytest.raises(KafkaSettingsError):
        client_settings(env)              # the clients are refused just the same
    with pytest.raises(KafkaSettingsError):
        sink_uri("k:9092", "", environ=env)


@pytest.mark.parametrize(("env", "variable"), [
    ({"KAFKA_SINK_URI": "kafka://k:9092", "KAFKA_EXTERNAL_CONNECTION": "k"}, "KAFKA_EXTERNAL_CONNECTION"),
    ({"KAFKA_EXTERNAL_CONNECTION": "external://k"}, "KAFKA_EXTERNAL_CONNECTION"),
    ({"KAFKA_SINK_URI": "k:9092"}, "KAFKA_SINK_URI"),
    ({"KAFKA_SINK_URI": "kafka://k:9092"}, "KAFKA_SINK_URI"),      # lacks the topic prefix
])
def test_sink_overrides_are_checked(env, variable):
    with pytest.raises(KafkaSettingsError, match=variable):
        sink_uri("k:9092", "prod_", environ=env)


def test_a_ca_file_that_went_away_is_reported_when_the_uri_is_built(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_bytes(CA_PEM)
    settings = from_env({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(path)})
    path.unlink()
    with pytest.raises(KafkaSettingsError, match="KAFKA_SSL_CAFILE names .*cannot be read"):
        settings.sink_parameters()


def test_the_relay_and_the_worker_refuse_bad_settings_at_start(monkeypatch, caplog):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nowhere/db")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    with pytest.raises(RuntimeError, match="KAFKA_SASL_USERNAME must be set"):
        RelayConfig.from_env()
    caplog.set_level(logging.ERROR)
    kafka_level = logging.getLogger("kafka").level
    try:
        assert worker_module.main([]) == 2
    finally:
        logging.getLogger("kafka").setLevel(kafka_level)   # main() quiets kafka-python
    assert "KAFKA_SASL_USERNAME must be set" in caplog.text and PASSWORD not in caplog.text


# ---- secrets are masked wherever shown ------------------------------------------------------------

def test_redact_secrets_masks_the_password_and_the_certificates(ca_file):
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
           "KAFKA_SASL_USERNAME": "stockroom", "KAFKA_SASL_PASSWORD": PASSWORD,
           "KAFKA_SSL_CAFILE": ca_file}
    statement = dialect.changefeed_statement(["stock"], sink_uri("k:9092", "p_", environ=env))
    assert dialect.redact_secrets(statement) == (
        "CREATE CHANGEFEED FOR TABLE stock INTO 'kafka://k:9092?topic_prefix=p_&tls_enabled=true"
        "&ca_cert=redacted&sasl_enabled=true&sasl_mechanism=SCRAM-SHA-512&sasl_user=stockroom"
        "&sasl_password=redacted' WITH updated, resolved='10s', min_checkpoint_frequency='10s', "
        "diff, kafka_sink_config='{\"RequiredAcks\": \"ALL\"}'")
    assert dialect.redact_secrets("kafka://k?client_key=QUJD&x=1") == "kafka://k?client_key=redacted&x=1"
    assert dialect.redact_secrets(None) is None and dialect.redact_secrets(7) == 7
    assert repr(from_env(env)).count(PASSWORD) == 0
    assert PASSWORD not in repr(client_settings(env)) and "'redacted'" in repr(client_settings(env))


class FakeCockroach:
    """Enough of a psycopg connection to CockroachDB for `changefeed setup|status`: records the
    statements it is sent and answers SHOW CHANGEFEED JOBS with the given rows."""

    def __init__(self, jobs: list[dict]):
        self.jobs = jobs
        self.sent: list[str] = []

    def execute(self, sql, *args):
        self.sent.append(sql)
        answer = {dialect.RANGEFEED_SETTING_SQL: [("true",)]}.get(sql, [(880912,)])
        return type("Result", (), {"fetchone": lambda _: answer[0], "fetchall": lambda _: answer})()

    def cursor(self, row_factory=None):
        fake = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, sql):
                fake.sent.append(sql)
                return self

            def fetchall(self):
                return [dict(job) for job in fake.jobs]

        return Cursor()


def changefeed_args(action: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments_changefeed_command(parser)
    return parser.parse_args([action])


def test_changefeed_setup_sends_the_password_but_never_prints_it(monkeypatch, capsys, ca_file):
    for name, value in {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": ca_file,
                        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "stockroom",
                        "KAFKA_SASL_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(name, value)
    conn = FakeCockroach(jobs=[])
    assert cli._cockroach(conn, changefeed_args("setup"), "k-1:9092,k-2:9092", "") == 0
    create = next(sql for sql in conn.sent if sql.startswith("CREATE CHANGEFEED"))
    assert f"sasl_password={ENCODED_PASSWORD}'" in create and f"ca_cert={CA_B64}&" in create
    out = capsys.readouterr().out
    assert "sasl_password=redacted" in out and "ca_cert=redacted" in out
    assert ENCODED_PASSWORD not in out and PASSWORD not in out and "Created changefeed job 880912" in out

    # status, and the Operations page's rows (same changefeed_jobs()): the job as the cluster
    # would list it, with the password in its description and sink URI.
    job = {"job_id": 880912, "status": "running", "sink_uri": create.split("'")[1],
           "description": create, "full_table_names": [f"db.public.{t}" for t in dialect.CHANGEFEED_TABLES]}
    conn = FakeCockroach(jobs=[job])
    assert cli._cockroach(conn, changefeed_args("status"), "k-1:9092", "") == 0
    out = capsys.readouterr().out
    assert "sasl_password=redacted" in out and ENCODED_PASSWORD not in out and CA_B64 not in out
    rows = changefeed_jobs.changefeed_jobs(FakeCockroach(jobs=[job]))
    assert rows[0]["job_id"] == 880912 and ENCODED_PASSWORD not in str(rows) and CA_B64 not in str(rows)


def test_changefeed_setup_refuses_bad_settings_in_a_sentence(monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "u")
    assert cli._cockroach(FakeCockroach([]), changefeed_args("setup"), "k:9092", "") == 1
    assert "error: KAFKA_SECURITY_PROTOCOL is SASL_SSL, so KAFKA_SASL_PASSWORD must be set" in \
        capsys.readouterr().err


# ---- our clients against the real (PLAINTEXT-only) broker ----------------------------------------

class Recorded:
    """Wraps a kafka-python client class, keeping the keyword arguments of every instance."""

    def __init__(self, cls):
        self.cls, self.calls = cls, []

    def __call__(self, *args, **kwargs):
        self.calls.append(kwargs)
        return self.cls(*args, **kwargs)


@pytest.fixture
def recorded(monkeypatch):
    clients = {"admin": Recorded(KafkaAdminClient), "producer": Recorded(KafkaProducer),
               "tail": Recorded(KafkaConsumer), "worker": Recorded(KafkaConsumer)}
    monkeypatch.setattr(topics, "KafkaAdminClient", clients["admin"])
    monkeypatch.setattr(relay_module, "KafkaProducer", clients["producer"])
    monkeypatch.setattr(tail, "KafkaConsumer", clients["tail"])
    monkeypatch.setattr(worker_module, "KafkaConsumer", clients["worker"])
    return clients


def wait_for(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_relay_tail_and_worker_connect_with_plaintext_set_explicitly(kafka, monkeypatch, recorded):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    prefix = unique_prefix()
    relay = Relay(RelayConfig(database_url="postgresql://unused/db", bootstrap=kafka,
                              topic_prefix=prefix, partitions=1))
    try:
        assert relay.open_broker() is True                 # created the topics
        relay.producer.send(prefix + "stock", partition=0,
                            value=b'{"resolved": "1700000000000000000.0000000000"}').get(timeout=10)
        assert relay.producer.config["security_protocol"] == "PLAINTEXT"
    finally:
        relay.close_broker()
    worker = worker_module.ReplenishmentWorker(kafka, topic=prefix + "stock", group_id=prefix + "g")
    try:
        worker.step(timeout_ms=200)
        assert worker.consumer.config["security_protocol"] == "PLAINTEXT"
    finally:
        worker.close()
    change_tail = tail.ChangeTail(kafka, topic_prefix=prefix).start()
    try:
        wait_for(lambda: change_tail.snapshot().status == "live")
    finally:
        change_tail.stop()
    for name, client in recorded.items():
        assert client.calls, name
        assert all(call["security_protocol"] == "PLAINTEXT" for call in client.calls), name


def test_sasl_against_a_broker_without_sasl_fails_in_seconds_with_a_sentence(
        kafka, monkeypatch, recorded, caplog):
    """The embedded broker answers SaslHandshake with UnsupportedSaslMechanism; kafka-python
    retries until bootstrap_timeout_ms (5 s) and says "Unable to bootstrap": we say why."""
    for name, value in {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u",
                        "KAFKA_SASL_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG, logger="kafka")      # kafka-python logs its configuration
    relay = Relay(RelayConfig(database_url="postgresql://unused/db", bootstrap=kafka,
                              topic_prefix=unique_prefix()))
    started = time.monotonic()
    with pytest.raises(KafkaTimeoutError) as failed:
        relay.open_broker()
    assert time.monotonic() - started < 15
    message = failed.value.args[0]
    assert message.startswith(f"no broker of {kafka} completed a SASL_PLAINTEXT connection with "
                              "SASL PLAIN: check that the listener")
    assert "KAFKA_SASL_USERNAME" in message and PASSWORD not in message
    assert recorded["admin"].calls[0]["sasl_plain_password"] == PASSWORD
    assert "Starting KafkaAdminClient with configuration" in caplog.text
    assert PASSWORD not in caplog.text and "'sasl_plain_password': 'redacted'" in caplog.text

    change_tail = tail.ChangeTail(kafka, topic_prefix=unique_prefix()).start()
    try:
        status = wait_for(lambda: (s := change_tail.snapshot().status).startswith("cannot") and s)
    finally:
        change_tail.stop()
    assert status.startswith(f"cannot read the change stream at {kafka}: KafkaTimeoutError: "
                             f"no broker of {kafka} completed a SASL_PLAINTEXT connection")
    worker = worker_module.ReplenishmentWorker(kafka, topic=unique_prefix() + "stock")
    with pytest.raises(KafkaError, match="SASL_PLAINTEXT connection"):
        worker.step()
    worker.close()


def test_tls_against_a_broker_without_tls_fails_in_seconds_instead_of_hanging(kafka, monkeypatch):
    """kafka-python 3.0.12 has no deadline on the TLS handshake: against this broker its
    clients wait forever. The pre-flight check stops that with a sentence."""
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    started = time.monotonic()
    with pytest.raises(KafkaConnectionError) as failed:
        topics.admin_client(kafka, "test")
    assert time.monotonic() - started < 10
    assert failed.value.args[0] == (
        f"KAFKA_SECURITY_PROTOCOL is SSL, but no broker of {kafka} accepted "
        f"a TLS connection: {kafka} did not complete a TLS handshake within 5 s "
        "(is it a TLS listener?).")


# ---- the TLS pre-flight against a TLS server with a CA of our own --------------------------------

@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("tls")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr")
    (directory / "san.cnf").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.pem")
    return directory


@pytest.fixture
def tls_server(certificates):
    import socket

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"localhost:{listener.getsockname()[1]}"
    stop.set()
    thread.join(2)
    listener.close()


def test_tls_preflight_trusts_the_given_ca_and_refuses_an_unknown_one(certificates, tls_server):
    env = {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(certificates / "ca.pem")}
    security.preflight(f"127.0.0.1:1,{tls_server}", timeout=2, environ=env)  # the second answers
    with pytest.raises(KafkaConnectionError, match="presented a certificate that does not verify"):
        security.preflight(tls_server, timeout=2, environ={"KAFKA_SECURITY_PROTOCOL": "SSL"})
    security.preflight("127.0.0.1:1", environ={})          # nothing to check without TLS
