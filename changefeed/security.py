"""Kafka TLS and SASL settings, read from the environment in this one place.

They serve two kinds of client that must reach the same cluster:

* our own kafka-python clients (the relay's producer, every admin client, the Live page's tail,
  the replenishment worker, the stream check): `client_settings()` gives their keyword
  arguments (https://kafka-python.readthedocs.io/en/master/apidoc/KafkaConsumer.html,
  .../KafkaProducer.html, .../KafkaAdminClient.html: security_protocol, ssl_cafile,
  ssl_certfile, ssl_keyfile, sasl_mechanism, sasl_plain_username, sasl_plain_password);
* the CockroachDB changefeed, whose Kafka sink takes the same settings as query parameters of
  its sink URI (https://www.cockroachlabs.com/docs/stable/changefeed-sinks#kafka: tls_enabled,
  ca_cert and client_cert/client_key base64-encoded, sasl_enabled, sasl_mechanism, sasl_user,
  sasl_password URL-encoded): `sink_uri()`. KAFKA_SINK_URI replaces the generated URI, and
  KAFKA_EXTERNAL_CONNECTION names a CockroachDB external connection holding it
  (https://www.cockroachlabs.com/docs/stable/create-external-connection): 'external://<name>'.

Nothing here ever puts the password into an error message; `redact_secrets` (queries.dialect)
masks it, and the certificates, wherever a sink URI or job description is shown.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from queries import dialect
from queries.dialect import redact_secrets

__all__ = ["KafkaSecurity", "KafkaSettingsError", "client_settings", "from_env", "redact_secrets",
           "sink_uri"]

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# The mechanisms both sides implement under the same names: kafka-python registers PLAIN,
# SCRAM-SHA-256 and SCRAM-SHA-512 (kafka/net/sasl/__init__.py); CockroachDB's Kafka sink takes
# sarama's names for them, sasl_mechanism=PLAIN|SCRAM-SHA-256|SCRAM-SHA-512, PLAIN by default
# (changefeed-sinks page above; pkg/ccl/changefeedccl/sink_kafka.go). The old v21.2 page
# spelled them "SASL-SCRAM-SHA-256", which the sink never accepted.
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

SECURITY_PROTOCOL = "KAFKA_SECURITY_PROTOCOL"
SASL_MECHANISM = "KAFKA_SASL_MECHANISM"
SASL_USERNAME = "KAFKA_SASL_USERNAME"
SASL_PASSWORD = "KAFKA_SASL_PASSWORD"
SSL_CAFILE = "KAFKA_SSL_CAFILE"
SSL_CERTFILE = "KAFKA_SSL_CERTFILE"
SSL_KEYFILE = "KAFKA_SSL_KEYFILE"
SINK_URI = "KAFKA_SINK_URI"
EXTERNAL_CONNECTION = "KAFKA_EXTERNAL_CONNECTION"

_CONNECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class KafkaSettingsError(ValueError):
    """A Kafka security setting in the environment is missing, unknown or inconsistent."""


class Secret(str):
    """The SASL password as handed to kafka-python: a str in every way but its repr, so the
    configuration dict KafkaAdminClient logs at DEBUG ("Starting KafkaAdminClient with
    configuration: …"), and any other repr of the settings, shows 'redacted'."""

    def __repr__(self) -> str:
        return "'redacted'"


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def client_settings(self) -> dict:
        """kafka-python keyword arguments, the same for producers, consumers and admin clients.
        security_protocol is always there, PLAINTEXT included, so every client says what it uses."""
        settings: dict = {"security_protocol": self.protocol}
        if self.tls:
            # Without a CA file kafka-python trusts the system's CAs (ssl.load_default_certs),
            # which is what MSK and Confluent Cloud need; it checks host names by default.
            for name, value in (("ssl_cafile", self.ssl_cafile), ("ssl_certfile", self.ssl_certfile),
                                ("ssl_keyfile", self.ssl_keyfile)):
                if value:
                    settings[name] = value
        if self.sasl:
            settings.update(sasl_mechanism=self.sasl_mechanism,
                            sasl_plain_username=self.sasl_username,   # SCRAM reads it too
                            sasl_plain_password=Secret(self.sasl_password))
        return settings

    def sink_parameters(self) -> list[tuple[str, str]]:
        """The CockroachDB Kafka sink's query parameters, in a fixed order, values not yet encoded.
        The certificate files are read now, so a file that went away is reported here."""
        params: list[tuple[str, str]] = []
        if self.tls:
            params.append(("tls_enabled", "true"))
            if self.ssl_cafile:
                params.append(("ca_cert", _base64_file(SSL_CAFILE, self.ssl_cafile)))
            if self.ssl_certfile:
                params.append(("client_cert", _base64_file(SSL_CERTFILE, self.ssl_certfile)))
                params.append(("client_key", _base64_file(SSL_KEYFILE, self.ssl_keyfile)))
        if self.sasl:
            params += [("sasl_enabled", "true"), ("sasl_mechanism", self.sasl_mechanism),
                       ("sasl_user", self.sasl_username), ("sasl_password", self.sasl_password)]
        return params


def _base64_file(variable: str, path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return base64.b64encode(handle.read()).decode("ascii")
    except OSError as exc:
        raise KafkaSettingsError(
            f"{variable} names {path}, which cannot be read ({exc.strerror or exc}).") from None


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def from_env(environ: Mapping[str, str] | None = None) -> KafkaSecurity:
    """The settings, checked: every refusal is a sentence that names the variable to fix."""
    env = os.environ if environ is None else environ
    raw_protocol = _get(env, SECURITY_PROTOCOL)
    protocol = (raw_protocol or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise KafkaSettingsError(
            f"{SECURITY_PROTOCOL} is {raw_protocol!r}, which is not a Kafka security protocol: "
            f"use one of {', '.join(PROTOCOLS)}.")
    sasl = protocol in ("SASL_PLAINTEXT", "SASL_SSL")
    tls = protocol in ("SSL", "SASL_SSL")
    sasl_values = {name: _get(env, name) for name in (SASL_MECHANISM, SASL_USERNAME)}
    # The password is taken as given (spaces may be part of it); it is only ever tested for
    # presence, never shown.
    password = env.get(SASL_PASSWORD) or None
    files = {name: _get(env, name) for name in (SSL_CAFILE, SSL_CERTFILE, SSL_KEYFILE)}

    if not sasl:
        stray = [name for name, value in sasl_values.items() if value]
        stray += [SASL_PASSWORD] if password else []
        if stray:
            raise KafkaSettingsError(
                f"{stray[0]} is set but {SECURITY_PROTOCOL} is {protocol}, which does not "
                f"authenticate with SASL: set {SECURITY_PROTOCOL}=SASL_SSL (or SASL_PLAINTEXT), "
                f"or unset {stray[0]}.")
    if not tls:
        stray = [name for name, value in files.items() if value]
        if stray:
            raise KafkaSettingsError(
                f"{stray[0]} is set but {SECURITY_PROTOCOL} is {protocol}, which does not use "
                f"TLS: set {SECURITY_PROTOCOL}=SSL (or SASL_SSL), or unset {stray[0]}.")

    mechanism = None
    if sasl:
        mechanism = (sasl_values[SASL_MECHANISM] or "PLAIN").upper()
        if mechanism not in MECHANISMS:
            raise KafkaSettingsError(
                f"{SASL_MECHANISM} is {sasl_values[SASL_MECHANISM]!r}, which is not a SASL "
                f"mechanism both kafka-python and CockroachDB's Kafka sink support: use one of "
                f"{', '.join(MECHANISMS)}.")
        if not sasl_values[SASL_USERNAME]:
            raise KafkaSettingsError(
                f"{SECURITY_PROTOCOL} is {protocol}, so {SASL_USERNAME} must be set (the SASL "
                "user name, for Confluent Cloud the API key).")
        if not password:
            raise KafkaSettingsError(
                f"{SECURITY_PROTOCOL} is {protocol}, so {SASL_PASSWORD} must be set (the SASL "
                "password, for Confluent Cloud the API secret).")

    if tls:
        if bool(files[SSL_CERTFILE]) != bool(files[SSL_KEYFILE]):
            given, missing = ((SSL_CERTFILE, SSL_KEYFILE) if files[SSL_CERTFILE]
                              else (SSL_KEYFILE, SSL_CERTFILE))
            raise KafkaSettingsError(
                f"{given} is set without {missing}: a client certificate needs both the "
                "certificate and its key.")
        for name, path in files.items():
            if path and not os.path.isfile(path):
                raise KafkaSettingsError(f"{name} names {path}, which is not a file.")
            if path and not os.access(path, os.R_OK):
                raise KafkaSettingsError(f"{name} names {path}, which this user cannot read.")

    return KafkaSecurity(protocol=protocol, sasl_mechanism=mechanism,
                         sasl_username=sasl_values[SASL_USERNAME] if sasl else None,
                         sasl_password=password if sasl else None,
                         ssl_cafile=files[SSL_CAFILE], ssl_certfile=files[SSL_CERTFILE],
                         ssl_keyfile=files[SSL_KEYFILE])


def _brokers(bootstrap_servers: str) -> list[tuple[str, int]]:
    brokers = []
    for entry in bootstrap_servers.split(","):
        entry = entry.strip().split("://", 1)[-1]
        host, _, port = entry.rpartition(":")
        if host and port.isdigit():
            brokers.append((host.strip("[]"), int(port)))
    return brokers


def preflight(bootstrap_servers: str, timeout: float = 5.0,
              environ: Mapping[str, str] | None = None) -> None:
    """With TLS: complete one TLS handshake with a broker of the list, as kafka-python would
    (same CA, client certificate and host name check), before any client is built.

    kafka-python 3.0.12 puts no deadline on the TLS handshake: against a listener that is not
    TLS (the embedded broker, a PLAINTEXT port) KafkaAdminClient and KafkaConsumer wait forever,
    bootstrap_timeout_ms notwithstanding (tests/test_kafka_security.py). Here the wait is bounded
    and a failure says what happened. Nothing to do without TLS."""
    settings = from_env(environ)
    if not settings.tls:
        return
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # what kafka-python's transport builds
    if settings.ssl_cafile:
        context.load_verify_locations(settings.ssl_cafile)
    else:
        context.load_default_certs()
    if settings.ssl_certfile:
        context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile)
    reasons = []
    for host, port in _brokers(bootstrap_servers):
        try:
            with socket.create_connection((host, port), timeout=timeout) as raw:
                raw.settimeout(timeout)
                with context.wrap_socket(raw, server_hostname=host):
                    return
        except ssl.SSLCertVerificationError as exc:
            reasons.append(f"{host}:{port} presented a certificate that does not verify "
                           f"({exc.verify_message}; {SSL_CAFILE} names the CA to trust)")
        except TimeoutError:
            reasons.append(f"{host}:{port} did not complete a TLS handshake within {timeout:g} s "
                           "(is it a TLS listener?)")
        except ssl.SSLError as exc:
            reasons.append(f"{host}:{port} failed the TLS handshake ({exc.reason or exc}; "
                           "is it a TLS listener?)")
        except OSError as exc:
            reasons.append(f"{host}:{port} cannot be reached ({exc.strerror or exc})")
    from kafka.errors import KafkaConnectionError

    raise KafkaConnectionError(
        f"{SECURITY_PROTOCOL} is {settings.protocol}, but no broker of {bootstrap_servers} "
        "accepted a TLS connection: " + "; ".join(reasons or ["no host:port in the list"]) + ".")


def explain_bootstrap_failure(exc: Exception, bootstrap_servers: str,
                              environ: Mapping[str, str] | None = None) -> Exception:
    """kafka-python's "Unable to bootstrap from …" after a refused SASL handshake or login,
    turned into a sentence naming the settings to check (the broker's own reason, such as
    UnsupportedSaslMechanismError, is only in kafka-python's debug log). Other errors, and any
    error without SASL, come back unchanged."""
    from kafka.errors import KafkaTimeoutError

    try:
        settings = from_env(environ)
    except KafkaSettingsError:
        return exc
    if not settings.sasl or not isinstance(exc, KafkaTimeoutError) or "bootstrap" not in str(exc):
        return exc
    return KafkaTimeoutError(
        f"no broker of {bootstrap_servers} completed a {settings.protocol} connection with SASL "
        f"{settings.sasl_mechanism}: check that the listener at that address expects "
        f"{settings.protocol} ({SECURITY_PROTOCOL}), offers {settings.sasl_mechanism} "
        f"({SASL_MECHANISM}) and knows {SASL_USERNAME} with {SASL_PASSWORD} ({exc}).")


def client_settings(environ: Mapping[str, str] | None = None) -> dict:
    """kafka-python keyword arguments for any client we create (read from the environment
    each time, so a process started with new settings uses them)."""
    return from_env(environ).client_settings()


def sink_uri(bootstrap_servers: str | None, topic_prefix: str = "",
             environ: Mapping[str, str] | None = None) -> str:
    """Where the CockroachDB changefeed writes: KAFKA_EXTERNAL_CONNECTION ('external://name'),
    else KAFKA_SINK_URI as given, else 'kafka://<first broker>?topic_prefix=…' with the TLS and
    SASL parameters of KAFKA_SECURITY_PROTOCOL and friends.

    The sink URI names one host (the page's '{scheme}://{host}:{port}?{query_parameters}'):
    the first broker of KAFKA_BOOTSTRAP_SERVERS is the seed from which the sink learns the rest
    of the cluster, while our own clients are given every broker."""
    env = os.environ if environ is None else environ
    external = _get(env, EXTERNAL_CONNECTION)
    override = _get(env, SINK_URI)
    if external and override:
        raise KafkaSettingsError(
            f"{EXTERNAL_CONNECTION} and {SINK_URI} are both set: the changefeed can write to one "
            "sink; unset one of them.")
    if external:
        if not _CONNECTION_NAME.match(external):
            raise KafkaSettingsError(
                f"{EXTERNAL_CONNECTION} is {external!r}: give the bare name of the external "
                "connection (letters, digits and underscores), as in CREATE EXTERNAL CONNECTION "
                "<name> AS 'kafka://…'.")
        # The connection's own URI carries the topic prefix and the credentials.
        return f"external://{external}"
    if override:
        if "://" not in override:
            raise KafkaSettingsError(
                f"{SINK_URI} is not a sink URI: it must look like 'kafka://host:port?…' "
                "(see CockroachDB's changefeed-sinks page).")
        if topic_prefix and f"topic_prefix={quote(topic_prefix, safe='')}" not in override:
            raise KafkaSettingsError(
                f"{SINK_URI} has no topic_prefix={quote(topic_prefix, safe='')}, but the topic "
                f"prefix is {topic_prefix!r} (STOCKROOM_TOPIC_PREFIX): our consumers would read "
                "topics the changefeed does not write; add it to the URI.")
        return override
    if not bootstrap_servers:
        raise KafkaSettingsError(
            f"KAFKA_BOOTSTRAP_SERVERS is not set (nor {SINK_URI} or {EXTERNAL_CONNECTION}).")
    return dialect.kafka_sink_uri(bootstrap_servers, topic_prefix,
                                  from_env(env).sink_parameters())
