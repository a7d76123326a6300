"""The module's SSL clients: per-link handshake settings and the TLS context built from
them and the PKI in ``mfg_nvs``.

What a link's ``"SSL"`` connection uses, as ESP-AT does:

- ``AT+CIPSSLCCONF``: mode 0 no authentication, 1 the client presents certificate and key
  ``<pki_number>`` (``client_cert``/``client_key``), 2 the client verifies the server
  against CA ``<ca_number>`` (``client_ca``), 3 both.
- ``AT+CIPSSLCSNI``: the server name sent in the ClientHello (none by default: the host
  given to ``AT+CIPSTART`` is not sent).
- ``AT+CIPSSLCCN``: the name the server's certificate must carry (modes 2 and 3); without
  it the SNI is checked when set, otherwise only the chain is verified.
- ``AT+CIPSSLCALPN``: the ALPN protocols offered; ``AT+CIPSSLCCIPHER``: the TLS 1.2 cipher
  suites offered (IANA numbers); ``AT+CIPSSLCPSK``: a pre-shared key (where this Python
  can do TLS-PSK).

ESP-AT's mbedTLS speaks TLS 1.2 only, and so do these contexts. A name is matched as
mbedTLS matches it: the certificate's DNS and IP subject alternative names when it has
any, otherwise its subject common name; ``*.`` matches one leftmost label.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .net import MAX_LINKS

if TYPE_CHECKING:
    from ..flash.mfg import MfgNvs
    from .module import Module


class TlsSetupError(Exception):
    """The link's SSL settings cannot make a handshake (missing PKI, unusable suites...);
    ``line`` is the message the firmware prints for it, if any."""

    def __init__(self, reason: str, line: str | None = None) -> None:
        super().__init__(reason)
        self.line = line


# What ESP-AT prints when a PKI file it needs is not in mfg_nvs.
_MISSING = {
    "client_ca": "NO CA FOUND",
    "client_cert": "NO CERT FOUND",
    "client_key": "NO PRVT_KEY FOUND",
    "server_ca": "NO CA FOUND",
    "server_cert": "NO CERT FOUND",
    "server_key": "NO PRVT_KEY FOUND",
}


@dataclass(frozen=True)
class TlsClientConfig:
    """The handshake settings of one link (besides AT+CIPSSLCCONF's)."""

    sni: str | None = None
    common_name: str | None = None
    alpn: tuple[str, ...] = ()
    psk: bytes | None = None
    psk_hint: bytes = b""
    ciphers: tuple[int, ...] = ()


_DEFAULT_TLS = TlsClientConfig()


@dataclass(slots=True)
class TlsClients:
    """The SSL client settings of every link (``module.tls``); back to defaults at boot."""

    # links at defaults share one configuration (it is immutable)
    links: list[TlsClientConfig] = field(default_factory=lambda: [_DEFAULT_TLS] * MAX_LINKS)

    def reset(self) -> None:
        self.links = [_DEFAULT_TLS] * MAX_LINKS

    def update(self, link_id: int, **changes: Any) -> None:
        """Change link ``link_id`` (``MAX_LINKS``: every link)."""
        targets = range(MAX_LINKS) if link_id == MAX_LINKS else (link_id,)
        for target in targets:
            self.links[target] = replace(self.links[target], **changes)


def supported_suites() -> list[tuple[int, str]]:
    """The TLS 1.2 cipher suites a module's client offers: (IANA number, OpenSSL name)."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.maximum_version = ssl.TLSVersion.TLSv1_2
    return [
        (int(c["id"]) & 0xFFFF, str(c["name"]))
        for c in probe.get_ciphers()
        if c.get("protocol") != "TLSv1.3"
    ]


def name_matches(cert: dict[str, Any], name: str) -> bool:
    """Whether a verified peer certificate (``getpeercert()``) carries ``name``."""
    sans = [
        value for kind, value in cert.get("subjectAltName", ()) if kind in ("DNS", "IP Address")
    ]
    if not sans:
        sans = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    wanted = name.lower().rstrip(".")
    for candidate in sans:
        pattern = str(candidate).lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and wanted.partition(".")[2] == pattern[2:]:
            return True
    return False


class _NameCheckingObject(ssl.SSLObject):
    """Checks the name the link asks for once the chain is verified (Python's own check
    ties it to the SNI, ESP-AT's does not)."""

    def do_handshake(self) -> None:
        super().do_handshake()
        context = self.context
        wanted = getattr(context, "verify_name", None)
        if wanted is None:
            return
        cert = self.getpeercert()
        if not cert or not name_matches(cert, wanted):
            raise ssl.SSLCertVerificationError(
                f"the server's certificate does not carry the name {wanted!r}"
            )


class ModuleTlsContext(ssl.SSLContext):
    """A client context of one connection, with the name its server must carry."""

    verify_name: str | None = None


def _pem(data: bytes, label: str) -> bytes:
    """PEM as stored, or DER wrapped into PEM."""
    data = data.rstrip(b"\x00")
    if b"-----BEGIN" in data:
        return data
    body = base64.encodebytes(data)
    return (
        b"-----BEGIN "
        + label.encode()
        + b"-----\n"
        + body
        + b"-----END "
        + label.encode()
        + b"-----\n"
    )


def _file(mfg: MfgNvs | None, namespace: str, index: int) -> bytes:
    found = mfg.pki_file(namespace, index) if mfg is not None else None
    if found is None:
        raise TlsSetupError(f"no {namespace} number {index} in mfg_nvs", _MISSING[namespace])
    return found


def _load_ca(context: ssl.SSLContext, ca: bytes) -> None:
    """Trust the CA certificate(s) ``ca`` (PEM or DER)."""
    try:
        if b"-----BEGIN" in ca:
            context.load_verify_locations(cadata=ca.rstrip(b"\x00").decode("ascii", "replace"))
        else:
            context.load_verify_locations(cadata=ca)
    except (ssl.SSLError, ValueError) as exc:
        raise TlsSetupError(f"CA certificate unusable: {exc}") from exc


def _load_chain(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """Python loads a certificate chain from files only: a private directory, removed at
    once."""
    with tempfile.TemporaryDirectory(prefix="esp-at-sim-pki-") as folder:
        cert_path = os.path.join(folder, "cert.pem")
        key_path = os.path.join(folder, "key.pem")
        for path, data in (
            (cert_path, _pem(cert, "CERTIFICATE")),
            (key_path, _pem(key, "PRIVATE KEY")),
        ):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        try:
            context.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, ValueError) as exc:
            raise TlsSetupError(f"certificate or key unusable: {exc}") from exc


def client_context(module: Module, link_id: int) -> tuple[ModuleTlsContext, str | None]:
    """The TLS context for link ``link_id``'s next connection and the SNI to send;
    :class:`TlsSetupError` when the settings cannot make one."""
    conf = module.net.ssl_client[link_id]
    tls = module.tls.links[link_id]
    mfg = module.firmware.mfg() if module.firmware is not None else None
    context = ModuleTlsContext(ssl.PROTOCOL_TLS_CLIENT)
    context.sslobject_class = _NameCheckingObject
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    if tls.psk is not None:
        _use_psk(context, tls.psk, tls.psk_hint)
    elif tls.ciphers:
        known = dict(supported_suites())
        names = [known[suite] for suite in tls.ciphers if suite in known]
        if not names:
            raise TlsSetupError("none of the configured cipher suites is supported")
        context.set_ciphers(":".join(names))
    if conf.auth_mode in (2, 3):
        _load_ca(context, _file(mfg, "client_ca", conf.ca_number))
        context.verify_mode = ssl.CERT_REQUIRED
        context.verify_name = tls.common_name or tls.sni
    else:
        context.verify_mode = ssl.CERT_NONE
    if conf.auth_mode in (1, 3):
        cert = _file(mfg, "client_cert", conf.pki_number)
        key = _file(mfg, "client_key", conf.pki_number)
        _load_chain(context, cert, key)
    if tls.alpn:
        context.set_alpn_protocols(list(tls.alpn))
    return context, tls.sni


def _use_psk(context: ssl.SSLContext, key: bytes, identity: bytes) -> None:
    setter = getattr(context, "set_psk_client_callback", None)
    if setter is None:
        raise TlsSetupError("TLS-PSK needs Python 3.13 or later")
    context.set_ciphers("PSK")  # pragma: no cover - Python 3.13+
    setter(lambda hint: (identity.decode("utf-8", "replace"), key))  # pragma: no cover


def server_context(module: Module, verify_client: bool) -> ssl.SSLContext | None:
    """The TLS context of an ``"SSL"`` server (AT+CIPSERVER): ``server_cert`` and
    ``server_key`` from mfg_nvs, and with ``verify_client`` (``<CA enable>``) clients
    verified against ``server_ca``; ``None`` when a file it needs is missing or unusable."""
    mfg = module.firmware.mfg() if module.firmware is not None else None
    try:
        cert = _file(mfg, "server_cert", 0)
        key = _file(mfg, "server_key", 0)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        _load_chain(context, cert, key)
        if verify_client:
            _load_ca(context, _file(mfg, "server_ca", 0))
            context.verify_mode = ssl.CERT_REQUIRED
    except TlsSetupError as exc:
        module.emit("net.tls_setup_failed", reason=str(exc))
        return None
    return context
