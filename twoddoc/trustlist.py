"""The trust list of 2D-Doc certificates, in the ANTS format (ETSI TS 119 612 XML).

ANTS publishes the 2D-Doc trust list as an ETSI "Trust Service Status List":
one ``TrustServiceProvider`` per certification authority, named by its id
(``FR00``, ``FR01``...) in ``TSPTradeName``, and under it ``TSPService``
entries each holding one certificate (``ServiceDigitalIdentity/DigitalId/
X509Certificate``, base64 DER), its status and the time that status began. A
2D-Doc names its signing certificate by authority id and certificate id; here
a certificate whose subject CN is that id, listed under that authority (or
issued by a CN equal to it), is the one. A CA certificate is kept too (it
signs the others) but never signs a 2D-Doc itself.

What this reader trusts is what the list says, no more: the list reaches the
kiosk inside the fleet state, signed by the back office (deposit/fleetstate.py),
or ships in ``assets/twoddoc/``. It does not check the XML signature ANTS puts
on its own file (that needs an XML-DSig stack the kiosk does not carry): the
back office's operator imports the list from ANTS over HTTPS and the fleet
state's signature carries it from there.

A service marked with the ``AdditionalServiceInformation`` URI
:data:`TEST_ONLY_URI` is a test authority: it is dropped unless the reader is
asked for test authorities (:meth:`TrustList.from_xml` ``include_test``), so a
kiosk in production never trusts the ANTS test authority by accident.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.x509.oid import NameOID

NS = "http://uri.etsi.org/02231/v2#"
_N = f"{{{NS}}}"
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
#: Statuses under which a certificate may have signed (ETSI's older and newer names).
TRUSTED_STATUSES = {
    GRANTED,
    "http://uri.etsi.org/TrstSvc/Svcstatus/undersupervision",
    "http://uri.etsi.org/TrstSvc/Svcstatus/accredited",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel",
}
CA_SERVICE = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"
#: Marks the test authority of this project's lists (not an ETSI value: ours).
TEST_ONLY_URI = "urn:deposit-kiosk:2ddoc:test-only"
#: A trust list larger than this is refused unread.
MAX_XML = 2 * 1024 * 1024


class TrustListError(ValueError):
    """A trust list that cannot be read (not XML, not a TSL, a certificate not DER)."""


@dataclass(frozen=True)
class TrustedCertificate:
    authority: str                     # "FR00"
    certificate_id: str                # "0001" (its subject CN)
    certificate: x509.Certificate
    status: str = GRANTED
    status_since: datetime | None = None
    test_only: bool = False

    @property
    def not_before(self) -> date:
        return self.certificate.not_valid_before_utc.date()

    @property
    def not_after(self) -> date:
        return self.certificate.not_valid_after_utc.date()


@dataclass(frozen=True)
class TrustList:
    certificates: tuple[TrustedCertificate, ...] = ()
    issued: datetime | None = None
    _index: dict[tuple[str, str], TrustedCertificate] = field(
        default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for entry in self.certificates:
            self._index.setdefault((entry.authority, entry.certificate_id), entry)

    def find(self, authority: str, certificate_id: str) -> TrustedCertificate | None:
        return self._index.get((authority, certificate_id))

    def knows_authority(self, authority: str) -> bool:
        return any(a == authority for a, _ in self._index)

    @property
    def authorities(self) -> list[str]:
        return sorted({a for a, _ in self._index})

    @classmethod
    def from_xml(cls, xml: bytes | str, *, include_test: bool = False) -> TrustList:
        """The certificates of an ETSI TS 119 612 list; test authorities only if asked.

        Raises :class:`TrustListError` when the document is not such a list.
        """
        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        if len(data) > MAX_XML:
            raise TrustListError(f"trust list larger than {MAX_XML} bytes")
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise TrustListError("trust list with a DOCTYPE or entities: refused")
        try:
            root = ET.fromstring(data)  # noqa: S314  (DOCTYPE and entities refused above)
        except ET.ParseError as exc:
            raise TrustListError(f"trust list is not XML: {exc}") from None
        if root.tag != f"{_N}TrustServiceStatusList":
            raise TrustListError(f"not an ETSI trust list: root element {root.tag}")
        issued = _time(root.findtext(f"{_N}SchemeInformation/{_N}ListIssueDateTime"))
        entries: list[TrustedCertificate] = []
        for provider in root.iter(f"{_N}TrustServiceProvider"):
            names = [n.text.strip() for n in provider.iter(f"{_N}Name") if n.text]
            for service in provider.iter(f"{_N}TSPService"):
                entries += _service(service, names, include_test)
        return cls(tuple(entries), issued)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cn(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value).strip() if values else None


def _service(service: ET.Element, provider_names: list[str], include_test: bool
             ) -> list[TrustedCertificate]:
    info = service.find(f"{_N}ServiceInformation")
    if info is None:
        return []
    test_only = any((u.text or "").strip() == TEST_ONLY_URI
                    for u in info.iter(f"{_N}URI"))
    if test_only and not include_test:
        return []
    status = (info.findtext(f"{_N}ServiceStatus") or "").strip()
    since = _time(info.findtext(f"{_N}StatusStartingTime"))
    out = []
    for element in info.iter(f"{_N}X509Certificate"):
        try:
            der = base64.b64decode("".join((element.text or "").split()), validate=True)
            certificate = x509.load_der_x509_certificate(der)
        except (binascii.Error, ValueError) as exc:
            raise TrustListError(f"a certificate of the trust list cannot be read: {exc}"
                                 ) from None
        subject, issuer = _cn(certificate.subject), _cn(certificate.issuer)
        if subject is None:
            continue
        authority = next((n for n in provider_names if n == issuer), None) or \
            next((n for n in provider_names if len(n) == 4 and n.isalnum() and n.isupper()),
                 issuer)
        if authority is None or subject == authority:
            continue                        # a CA's own certificate signs no 2D-Doc
        out.append(TrustedCertificate(authority, subject, certificate, status, since,
                                      test_only))
    return out


def to_xml(entries: list[tuple[str, str, x509.Certificate, bool]], *, issued: datetime,
           operator: str = "deposit-kiosk") -> str:
    """An ETSI TS 119 612 list of ``(authority, authority name, certificate, test_only)``,
    one provider per authority: how ``assets/twoddoc/`` lists are written
    (``python -m devtools.twoddoc_tsl``) and what tests build."""
    from cryptography.hazmat.primitives.serialization import Encoding

    by_authority: dict[str, tuple[str, list[tuple[x509.Certificate, bool]]]] = {}
    for authority, name, certificate, test_only in entries:
        by_authority.setdefault(authority, (name, []))[1].append((certificate, test_only))
    stamp = issued.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<tsl:TrustServiceStatusList xmlns:tsl="{NS}" '
        'TSLTag="http://uri.etsi.org/19612/TSLTag">',
        " <tsl:SchemeInformation>",
        "  <tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>",
        "  <tsl:TSLSequenceNumber>1</tsl:TSLSequenceNumber>",
        f'  <tsl:SchemeOperatorName><tsl:Name xml:lang="fr">{escape(operator)}</tsl:Name>'
        "</tsl:SchemeOperatorName>",
        "  <tsl:SchemeTerritory>FR</tsl:SchemeTerritory>",
        f"  <tsl:ListIssueDateTime>{stamp}</tsl:ListIssueDateTime>",
        " </tsl:SchemeInformation>",
        " <tsl:TrustServiceProviderList>",
    ]
    for authority, (name, certificates) in sorted(by_authority.items()):
        lines += [
            "  <tsl:TrustServiceProvider>",
            "   <tsl:TSPInformation>",
            f'    <tsl:TSPName><tsl:Name xml:lang="fr">{escape(name)}</tsl:Name></tsl:TSPName>',
            f'    <tsl:TSPTradeName><tsl:Name xml:lang="fr">{escape(authority)}</tsl:Name>'
            "</tsl:TSPTradeName>",
            "   </tsl:TSPInformation>",
            "   <tsl:TSPServices>",
        ]
        for certificate, test_only in certificates:
            der = base64.b64encode(certificate.public_bytes(Encoding.DER)).decode()
            since = certificate.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
            label = f"{authority} {_cn(certificate.subject)}" + (" (TEST)" if test_only else "")
            extra = ("     <tsl:ServiceInformationExtensions><tsl:Extension Critical=\"false\">"
                     f"<tsl:AdditionalServiceInformation><tsl:URI>{TEST_ONLY_URI}</tsl:URI>"
                     "</tsl:AdditionalServiceInformation></tsl:Extension>"
                     "</tsl:ServiceInformationExtensions>") if test_only else ""
            lines += [
                "    <tsl:TSPService>",
                "     <tsl:ServiceInformation>",
                f"     <tsl:ServiceTypeIdentifier>{CA_SERVICE}</tsl:ServiceTypeIdentifier>",
                f'     <tsl:ServiceName><tsl:Name xml:lang="fr">{escape(label)}</tsl:Name>'
                "</tsl:ServiceName>",
                "     <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>"
                f"{der}</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>",
                f"     <tsl:ServiceStatus>{GRANTED}</tsl:ServiceStatus>",
                f"     <tsl:StatusStartingTime>{since}</tsl:StatusStartingTime>",
                *([extra] if extra else []),
                "     </tsl:ServiceInformation>",
                "    </tsl:TSPService>",
            ]
        lines += ["   </tsl:TSPServices>", "  </tsl:TrustServiceProvider>"]
    lines += [" </tsl:TrustServiceProviderList>", "</tsl:TrustServiceStatusList>", ""]
    return "\n".join(lines)
