"""SSL client settings per link: AT+CIPSSLCSNI, AT+CIPSSLCCN, AT+CIPSSLCALPN,
AT+CIPSSLCPSK, AT+CIPSSLCPSKHEX and AT+CIPSSLCCIPHER.

With ``AT+CIPMUX=1`` the link ID comes first and ``5`` sets every link; in single
connection mode the setting is link 0's. Queries print one line per link that has a value
(link 0 only in single connection mode). The settings take effect at the next
``AT+CIPSTART`` of the link (see :mod:`esp_at_sim.device.tls`) and are not stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import para_invalid, para_num
from ..at.table import Args, Command
from ..device.net import MAX_LINKS
from ..device.tls import TlsClientConfig, supported_suites
from .tcpip_links import int_param, link_param, str_param

if TYPE_CHECKING:
    from ..device.module import Module

NAME_MAX = 255  # an SNI or common name (the AT line limits it first)
PSK_MAX = 32
ALPN_MAX = 5


def _links(module: Module) -> range:
    return range(MAX_LINKS) if module.net.mux else range(1)


def _configured(module: Module) -> list[tuple[int, TlsClientConfig]]:
    return [(i, module.tls.links[i]) for i in _links(module)]


def _text(args: Args, index: int, max_len: int) -> str:
    raw = str_param(args, index, max_len)
    assert raw is not None
    if not raw:
        raise para_invalid(index, "must not be empty")
    return raw.decode("utf-8", "replace")


def _quote(text: str | bytes) -> str:
    return f'"{text if isinstance(text, str) else text.decode("utf-8", "replace")}"'


# -- AT+CIPSSLCSNI / AT+CIPSSLCCN ------------------------------------------------------------
def _sni_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPSSLCSNI:{i},{_quote(c.sni)}" for i, c in _configured(module) if c.sni]


def _sni_set(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args, hi=MAX_LINKS)
    if len(args) != first + 1:
        raise para_num(first + 1, len(args))
    module.tls.update(link_id, sni=_text(args, first, NAME_MAX))


def _cn_query(module: Module, args: Args) -> list[str]:
    return [
        f"+CIPSSLCCN:{i},{_quote(c.common_name)}" for i, c in _configured(module) if c.common_name
    ]


def _cn_set(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args, hi=MAX_LINKS)
    if len(args) != first + 1:
        raise para_num(first + 1, len(args))
    module.tls.update(link_id, common_name=_text(args, first, NAME_MAX))


# -- AT+CIPSSLCALPN --------------------------------------------------------------------------
def _alpn_query(module: Module, args: Args) -> list[str]:
    return [
        f"+CIPSSLCALPN:{i}," + ",".join(_quote(p) for p in c.alpn)
        for i, c in _configured(module)
        if c.alpn
    ]


def _alpn_set(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args, hi=MAX_LINKS)
    count = int_param(args, first, 0, ALPN_MAX)
    if len(args) != first + 1 + count:
        raise para_num(first + 1 + count, len(args))
    protocols = tuple(_text(args, first + 1 + n, NAME_MAX) for n in range(count))
    module.tls.update(link_id, alpn=protocols)


# -- AT+CIPSSLCPSK / AT+CIPSSLCPSKHEX --------------------------------------------------------
def _psk_query(module: Module, args: Args) -> list[str]:
    return [
        f"+CIPSSLCPSK:{i},{_quote(c.psk)},{_quote(c.psk_hint)}"
        for i, c in _configured(module)
        if c.psk is not None
    ]


def _psk_hex_query(module: Module, args: Args) -> list[str]:
    return [
        f'+CIPSSLCPSKHEX:{i},"{c.psk.hex()}",{_quote(c.psk_hint)}'
        for i, c in _configured(module)
        if c.psk is not None
    ]


def _psk_args(module: Module, args: Args) -> tuple[int, bytes, bytes]:
    link_id, first = link_param(module, args, hi=MAX_LINKS)
    if len(args) != first + 2:
        raise para_num(first + 2, len(args))
    psk = str_param(args, first, 2 * PSK_MAX)
    hint = str_param(args, first + 1, PSK_MAX)
    assert psk is not None and hint is not None
    return link_id, psk, hint


def _psk_set(module: Module, args: Args) -> None:
    link_id, psk, hint = _psk_args(module, args)
    first = 1 if module.net.mux else 0
    if not 1 <= len(psk) <= PSK_MAX:
        raise para_invalid(first, f"the PSK takes 1..{PSK_MAX} bytes")
    module.tls.update(link_id, psk=psk, psk_hint=hint)


def _psk_hex_set(module: Module, args: Args) -> None:
    link_id, text, hint = _psk_args(module, args)
    first = 1 if module.net.mux else 0
    try:
        psk = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise para_invalid(first, "the PSK is not hexadecimal") from None
    if not 1 <= len(psk) <= PSK_MAX:
        raise para_invalid(first, f"the PSK takes 1..{PSK_MAX} bytes")
    module.tls.update(link_id, psk=psk, psk_hint=hint)


# -- AT+CIPSSLCCIPHER ------------------------------------------------------------------------
def _cipher_query(module: Module, args: Args) -> list[str]:
    return [f"+CIPSSLCCIPHER:{n},0x{suite:04X}" for n, (suite, _) in enumerate(supported_suites())]


def _cipher_set(module: Module, args: Args) -> None:
    link_id, first = link_param(module, args, hi=MAX_LINKS)
    if len(args) <= first:
        raise para_num(first + 1, len(args))
    count = int_param(args, first, 0, 0xFF)
    if len(args) != first + 1 + count:
        raise para_num(first + 1 + count, len(args))
    suites = tuple(int_param(args, first + 1 + n, 0, 0xFFFF) for n in range(count))
    module.tls.update(link_id, ciphers=suites)


COMMANDS: list[Command[Module]] = [
    Command("AT+CIPSSLCCIPHER", query=_cipher_query, set=_cipher_set),
    Command("AT+CIPSSLCCN", query=_cn_query, set=_cn_set),
    Command("AT+CIPSSLCSNI", query=_sni_query, set=_sni_set),
    Command("AT+CIPSSLCALPN", query=_alpn_query, set=_alpn_set),
    # The PSK is the next to last parameter, after the link ID when AT+CIPMUX=1.
    Command("AT+CIPSSLCPSK", query=_psk_query, set=_psk_set, secret_params=(-2,)),
    Command("AT+CIPSSLCPSKHEX", query=_psk_hex_query, set=_psk_hex_set, secret_params=(-2,)),
]
