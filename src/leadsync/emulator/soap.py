"""The SOAP API subset: `login`, `logout`, `getUserInfo`, `convertLead` and `merge`, on the
partner (`/services/Soap/u/`) and enterprise (`/services/Soap/c/`) endpoints.

Requests are parsed with defusedxml and matched on local names, so any namespace prefixes
work. Responses put the API namespace as the default namespace: simple-salesforce finds
`sessionId` and `serverUrl` by their literal, unprefixed tag names, and reads faults by the
literal `sf:exceptionCode` / `sf:exceptionMessage` names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape as _escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from . import auth
from .convert import LeadConvert, LeadConvertResult, convert_leads
from .errors import SalesforceError
from .merge import MergeRequest, MergeResult, merge_records
from .sessions import Session

if TYPE_CHECKING:
    from .org import Org

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NAMESPACES = {"u": "urn:partner.soap.sforce.com", "c": "urn:enterprise.soap.sforce.com"}
FAULT_NAMESPACES = {
    "u": "urn:fault.partner.soap.sforce.com",
    "c": "urn:fault.enterprise.soap.sforce.com",
}
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
INVALID_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"


class SoapFault(Exception):
    """A SOAP fault: `faultcode` sf:CODE (or a bare soapenv code when `client`)."""

    def __init__(
        self, code: str, message: str, kind: str = "UnexpectedErrorFault", *, client: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.kind = kind
        self.client = client


@dataclass(frozen=True)
class Call:
    org: Org
    api: str  # "u" (partner) or "c" (enterprise)
    version: str
    header: Element | None
    operation: Element

    @property
    def namespace(self) -> str:
        return NAMESPACES[self.api]


# -- XML helpers -----------------------------------------------------------------------------

# Characters XML 1.0 cannot hold even escaped (control characters, U+FFFE/U+FFFF); echoed input
# may carry them, and one would make the whole answer unparseable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str) -> str:
    return _escape(_NOT_XML.sub("\ufffd", text))


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> Iterator[Element]:
    return (c for c in element if local(c.tag) == name)


def child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next(children(element, name), None)


def text_of(element: Element | None, name: str) -> str | None:
    found = child(element, name)
    if found is None or found.get(f"{{{XSI}}}nil") == "true":
        return None
    return (found.text or "").strip()


def flag(element: Element, name: str) -> bool:
    return (text_of(element, name) or "").lower() in ("true", "1")


def xml_value(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def envelope(namespace: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns="{namespace}" '
        f'xmlns:xsi="{XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def fault_document(api: str, fault: SoapFault) -> bytes:
    if fault.client:
        code, detail = f"soapenv:{fault.code}", ""
        string = fault.message
    else:
        code, string = f"sf:{fault.code}", f"{fault.code}: {fault.message}"
        detail = (
            f'<detail><sf:{fault.kind} xsi:type="sf:{fault.kind}">'
            f"<sf:exceptionCode>{escape(fault.code)}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(fault.message)}</sf:exceptionMessage>"
            f"</sf:{fault.kind}></detail>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" '
        f'xmlns:sf="{FAULT_NAMESPACES.get(api, FAULT_NAMESPACES["u"])}" xmlns:xsi="{XSI}">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(string)}</faultstring>{detail}</soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


# -- dispatch ------------------------------------------------------------------------------


def handle(org: Org, api: str, version: str, payload: bytes) -> tuple[int, bytes]:
    """Answer one SOAP request: (HTTP status, XML document). Faults are HTTP 500."""
    try:
        call = parse(org, api, version, payload)
        operation = _OPERATIONS.get(local(call.operation.tag))
        if operation is None:
            raise SoapFault(
                "Client",
                f"No operation available for request {call.operation.tag}, "
                "please check the WSDL for the service.",
                client=True,
            )
        return 200, envelope(call.namespace, operation(call))
    except SoapFault as fault:
        return 500, fault_document(api, fault)
    except SalesforceError as error:
        return 500, fault_document(api, SoapFault(error.code, error.message))


def parse(org: Org, api: str, version: str, payload: bytes) -> Call:
    from .org import API_VERSIONS

    if version not in API_VERSIONS:
        raise SoapFault(
            "UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {version}"
        )
    try:
        root = fromstring(payload)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise SoapFault("Client", f"Unable to parse the request: {exc}", client=True) from None
    body = child(root, "Body") if local(root.tag) == "Envelope" else None
    operation = next(iter(body), None) if body is not None else None
    if operation is None:
        raise SoapFault("Client", "No SOAP body or operation in the request", client=True)
    return Call(org, api, version, child(root, "Header"), operation)


def session_of(call: Call) -> Session:
    token = text_of(child(call.header, "SessionHeader"), "sessionId")
    try:
        return call.org.sessions.validate(token)
    except SalesforceError:
        raise SoapFault("INVALID_SESSION_ID", INVALID_SESSION) from None


def authorized(call: Call) -> Session:
    """The caller's session, counted against the API budget (login is free, as on a real org)."""
    session = session_of(call)
    call.org.limits.consume()
    return session


# -- login, logout, getUserInfo ------------------------------------------------------------


def _user_info(org: Org, user_id: str) -> str:
    row = (
        org.store.reader()
        .execute(
            'SELECT "Id", "Username", "Name", "Email", "ProfileId", "TimeZoneSidKey", "UserType" '
            'FROM "User" WHERE "Id" = ?',
            (user_id,),
        )
        .fetchone()
    )
    if row is None:
        raise SoapFault("INVALID_SESSION_ID", INVALID_SESSION)
    uid, username, name, email, profile_id, timezone, user_type = row
    fields = [
        ("accessibilityMode", False),
        ("chatterExternal", False),
        ("currencySymbol", "$"),
        ("orgAttachmentFileSizeLimit", 5242880),
        ("orgDefaultCurrencyIsoCode", "USD"),
        ("orgDefaultCurrencyLocale", "en_US"),
        ("orgDisallowHtmlAttachments", False),
        ("orgHasPersonAccounts", False),
        ("organizationId", org.id),
        ("organizationMultiCurrency", False),
        ("organizationName", org.definition.name),
        ("profileId", profile_id),
        ("roleId", None),
        ("sessionSecondsValid", org.sessions.lifetime_seconds),
        ("userDefaultCurrencyIsoCode", None),
        ("userEmail", email),
        ("userFullName", name),
        ("userId", uid),
        ("userLanguage", "en_US"),
        ("userLocale", "en_US"),
        ("userName", username),
        ("userTimeZone", timezone or "GMT"),
        ("userType", user_type or "Standard"),
        ("userUiSkin", "Theme3"),
    ]
    return "".join(xml_value(key, value) for key, value in fields)


def login(call: Call) -> str:
    username = text_of(call.operation, "username") or ""
    password = text_of(call.operation, "password") or ""
    user = auth.verify_login(call.org, username, password)
    if user is None:
        raise SoapFault("INVALID_LOGIN", INVALID_LOGIN, "LoginFault")
    client = text_of(child(call.header, "CallOptions"), "client") or ""
    session = call.org.sessions.issue(user.id, user.username, user.profile, client)
    base = call.org.instance_url.rstrip("/")
    org_id = call.org.id[:15]
    result = (
        xml_value("metadataServerUrl", f"{base}/services/Soap/m/{call.version}/{org_id}")
        + xml_value("passwordExpired", False)
        + xml_value("sandbox", False)
        + xml_value("serverUrl", f"{base}/services/Soap/{call.api}/{call.version}/{org_id}")
        + xml_value("sessionId", session.token)
        + xml_value("userId", user.id)
        + f"<userInfo>{_user_info(call.org, user.id)}</userInfo>"
    )
    return f"<loginResponse><result>{result}</result></loginResponse>"


def logout(call: Call) -> str:
    session = authorized(call)
    call.org.sessions.revoke(session.token)
    return "<logoutResponse/>"


def get_user_info(call: Call) -> str:
    session = authorized(call)
    info = _user_info(call.org, session.user_id)
    return f"<getUserInfoResponse><result>{info}</result></getUserInfoResponse>"


# -- convertLead and merge -----------------------------------------------------------------


def _errors_xml(errors: list[SalesforceError]) -> str:
    parts = []
    for error in errors:
        fields = "".join(xml_value("fields", name) for name in error.fields)
        parts.append(
            f"<errors>{fields}{xml_value('message', error.message)}"
            f"{xml_value('statusCode', error.code)}</errors>"
        )
    return "".join(parts)


def _convert_result_xml(result: LeadConvertResult) -> str:
    return (
        "<result>"
        + xml_value("accountId", result.account_id)
        + xml_value("contactId", result.contact_id)
        + _errors_xml(result.errors)
        + xml_value("leadId", result.lead_id)
        + xml_value("opportunityId", result.opportunity_id)
        + xml_value("relatedPersonAccountId", None)
        + xml_value("success", result.success)
        + "</result>"
    )


def convert_lead(call: Call) -> str:
    session = authorized(call)
    items = [
        LeadConvert(
            lead_id=text_of(entry, "leadId"),
            converted_status=text_of(entry, "convertedStatus"),
            account_id=text_of(entry, "accountId"),
            contact_id=text_of(entry, "contactId"),
            opportunity_id=text_of(entry, "opportunityId"),
            do_not_create_opportunity=flag(entry, "doNotCreateOpportunity"),
            opportunity_name=text_of(entry, "opportunityName"),
            overwrite_lead_source=flag(entry, "overwriteLeadSource"),
            owner_id=text_of(entry, "ownerId"),
        )
        for entry in children(call.operation, "leadConverts")
    ]
    results = convert_leads(call.org, session, items)
    body = "".join(_convert_result_xml(r) for r in results)
    return f"<convertLeadResponse>{body}</convertLeadResponse>"


_MASTER_SKIP = frozenset({"type", "id", "fieldstonull"})


def _merge_request(entry: Element) -> MergeRequest:
    master = child(entry, "masterRecord")
    object_name = text_of(master, "type")
    if master is not None and not object_name:
        declared = master.get(f"{{{XSI}}}type") or ""
        object_name = declared.rsplit(":", 1)[-1] if declared else None
        if object_name == "sObject":
            object_name = None
    values: dict[str, str | None] = {}
    for element in master if master is not None else ():
        name = local(element.tag)
        if name.lower() in _MASTER_SKIP:
            continue
        nil = element.get(f"{{{XSI}}}nil") == "true"
        values[name] = None if nil else (element.text or "")
    return MergeRequest(
        object_name=object_name,
        master_id=text_of(master, "Id"),
        merge_ids=tuple((e.text or "").strip() for e in children(entry, "recordToMergeIds")),
        values=values,
        fields_to_null=tuple((e.text or "").strip() for e in children(master, "fieldsToNull"))
        if master is not None
        else (),
    )


def _merge_result_xml(result: MergeResult) -> str:
    return (
        "<result>"
        + _errors_xml(result.errors)
        + xml_value("id", result.id)
        + "".join(xml_value("mergedRecordIds", i) for i in result.merged_ids)
        + xml_value("success", result.success)
        + "".join(xml_value("updatedRelatedIds", i) for i in result.updated_related_ids)
        + "</result>"
    )


def merge(call: Call) -> str:
    session = authorized(call)
    requests = [_merge_request(entry) for entry in children(call.operation, "request")]
    results = merge_records(call.org, session, requests)
    return f"<mergeResponse>{''.join(_merge_result_xml(r) for r in results)}</mergeResponse>"


_OPERATIONS = {
    "login": login,
    "logout": logout,
    "getUserInfo": get_user_info,
    "convertLead": convert_lead,
    "merge": merge,
}
