"""The SOAP calls REST lacks: convertLead (lead conversion exists only in SOAP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import httpx
from defusedxml import ElementTree

from ..errors import FatalSalesforceError, ReauthRequired, RetriableError
from .client import SalesforceClient, classify

_NS = "urn:partner.soap.sforce.com"
_ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    f'xmlns:urn="{_NS}">'
    "<soapenv:Header><urn:SessionHeader><urn:sessionId>{session}</urn:sessionId>"
    "</urn:SessionHeader></soapenv:Header>"
    "<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
)


@dataclass(frozen=True)
class LeadConvert:
    lead_id: str
    converted_status: str
    account_id: str | None = None
    contact_id: str | None = None
    owner_id: str | None = None
    opportunity_name: str | None = None
    create_opportunity: bool = True
    send_notification_email: bool = False


@dataclass(frozen=True)
class ConvertResult:
    lead_id: str | None
    success: bool
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def _element(name: str, value: object) -> str:
    if value is None:
        return ""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"<urn:{name}>{escape(text)}</urn:{name}>"


def _convert_xml(item: LeadConvert) -> str:
    parts = [
        _element("accountId", item.account_id),
        _element("contactId", item.contact_id),
        _element("convertedStatus", item.converted_status),
        _element("doNotCreateOpportunity", not item.create_opportunity),
        _element("leadId", item.lead_id),
        _element("opportunityName", item.opportunity_name),
        _element("ownerId", item.owner_id),
        _element("sendNotificationEmail", item.send_notification_email),
    ]
    return "<urn:leadConverts>" + "".join(parts) + "</urn:leadConverts>"


def convert_leads(client: SalesforceClient, items: Sequence[LeadConvert]) -> list[ConvertResult]:
    """Convert up to 200 leads in one call; per-lead failures come back in the results."""
    if len(items) > 200:
        raise ValueError("convertLead takes at most 200 leads per call")
    body = "<urn:convertLead>" + "".join(_convert_xml(i) for i in items) + "</urn:convertLead>"
    response = _post(client, body)
    if response.status_code != 200 and _fault_code(response) == "INVALID_SESSION_ID":
        # An expired session is renewed once, as `SalesforceClient` does for REST calls;
        # the refused call converted nothing, so sending it again is safe.
        client._token = None
        response = _post(client, body)
    if response.status_code != 200:
        fault = _fault(response.text)
        if fault is None:
            raise classify(response, "POST", "Soap/convertLead")
        if fault[0] == "INVALID_SESSION_ID":
            raise ReauthRequired(fault[0], "session refused after renewal (Soap/convertLead)")
        raise FatalSalesforceError(fault[0], fault[1])
    root = ElementTree.fromstring(response.content)
    return [_result(node) for node in root.iter(f"{{{_NS}}}result")]


def _post(client: SalesforceClient, body: str) -> httpx.Response:
    client._check_budget()
    envelope = _ENVELOPE.format(session=escape(client.token.access_token), body=body)
    client.usage.calls += 1
    try:
        response = client.http.post(
            f"{client.token.instance_url}/services/Soap/u/{client.api_version}",
            content=envelope.encode(),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "convertLead"},
        )
    except httpx.TransportError as exc:
        # Not retried here: the conversion may have happened before the connection broke, so
        # the caller re-reads the lead (IsConverted) before trying again.
        raise RetriableError(
            "CONNECTION_ERROR", f"{type(exc).__name__} during convertLead; outcome unknown"
        ) from None
    client._track(response)
    return response


def _fault_code(response: httpx.Response) -> str | None:
    fault = _fault(response.text)
    return None if fault is None else fault[0]


def _text(node: Any, name: str) -> str | None:
    child = node.find(f"{{{_NS}}}{name}")
    if child is None or child.text is None:
        return None
    if child.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
        return None
    return str(child.text)


def _result(node: Any) -> ConvertResult:
    errors = [
        {
            "statusCode": _text(error, "statusCode"),
            "message": _text(error, "message"),
            "fields": [f.text for f in error.findall(f"{{{_NS}}}fields") if f.text],
        }
        for error in node.findall(f"{{{_NS}}}errors")
    ]
    return ConvertResult(
        lead_id=_text(node, "leadId"),
        success=_text(node, "success") == "true",
        account_id=_text(node, "accountId"),
        contact_id=_text(node, "contactId"),
        opportunity_id=_text(node, "opportunityId"),
        errors=errors,
    )


def _fault(text: str) -> tuple[str, str] | None:
    try:
        root = ElementTree.fromstring(text.encode())
    except ElementTree.ParseError:
        return None
    code = root.find(".//faultcode")
    message = root.find(".//faultstring")
    if code is None:
        return None
    detail = message.text if message is not None else None
    return (code.text or "").split(":")[-1], detail or ""
