"""SMS HTTP routes (section 4 of the wire reference) and the simulator's admin API.

POST /sms                          send (202, per-recipient results)
POST /sms/optouts:add|remove|check (api-version 2026-01-23)
GET  /deliveryReports/{messageId}  (api-version 2026-01-23)
POST /admin/simulator/sms:send     a simulated handset sends to one of our numbers
GET  /admin/simulator/sms/inbox    what simulated handsets received (?to=, ?top=)
PUT  /admin/simulator/handsets/{number}   a handset's receipts: delivered|failed|none|reject
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError
from switchboard.core.principal import Principal
from switchboard.http.apiversion import SMS_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, json_response, read_body
from switchboard.http.routing import Auth, Handler, routes_for
from switchboard.sms import schemas
from switchboard.sms.models import RecipientRequest, SendOptions, check_text, is_e164
from switchboard.sms.service import SmsService
from switchboard.sms.simstore import HandsetBehaviour, HandsetReport, SimulatorStore

MAX_INBOX_PAGE = 1000


def sms_routes(service: SmsService, authenticator: Authenticator) -> list[BaseRoute]:
    async def send(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.SendMessageRequest)
        options = body.options or schemas.SmsSendOptions()
        results = await service.send(
            body.sender,
            [RecipientRequest(r.to, r.repeatability_request_id) for r in body.recipients],
            body.message,
            SendOptions(enable_delivery_report=options.enable_delivery_report, tag=options.tag),
        )
        return json_response({"value": [schemas.send_result_json(r) for r in results]}, 202)

    def opt_outs(opted_out: bool | None) -> Handler:
        async def handler(request: Request, _: Principal) -> Response:
            body = decode_json(await read_body(request), schemas.OptOutRequest)
            results = await service.change_opt_outs(
                body.sender, [r.to for r in body.recipients], opted_out
            )
            return json_response({"value": [schemas.opt_out_json(r) for r in results]})

        return handler

    async def delivery_report(request: Request, _: Principal) -> Response:
        message = await service.report(request.path_params["messageId"])
        return json_response(schemas.delivery_report_json(message))

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=SMS_VERSIONS)
    return [
        acs("/sms", send, "POST"),
        acs("/sms/optouts:add", opt_outs(True), "POST"),
        acs("/sms/optouts:remove", opt_outs(False), "POST"),
        acs("/sms/optouts:check", opt_outs(None), "POST"),
        acs("/deliveryReports/{messageId}", delivery_report, "GET"),
    ]


def simulator_routes(
    store: SimulatorStore,
    authenticator: Authenticator,
    *,
    wake: Callable[[], None],
    clock: Clock,
) -> list[BaseRoute]:
    async def inject(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.InjectInboundRequest)
        for field, number in (("from", body.sender), ("to", body.to)):
            if not is_e164(number):
                raise BadRequestError(f"'{number}' is not an E.164 phone number.", target=field)
        check_text(body.message)
        carrier_id = await store.inject_inbound(
            body.sender, body.to, body.message, int(clock.now() * 1000)
        )
        wake()
        return json_response({"id": carrier_id}, 202)

    async def inbox(request: Request, _: Principal) -> Response:
        top = request.query_params.get("top", "100")
        if not top.isdigit() or not 1 <= int(top) <= MAX_INBOX_PAGE:
            raise BadRequestError(f"top must be 1..{MAX_INBOX_PAGE}.", target="top")
        messages = await store.inbox(request.query_params.get("to"), int(top))
        return json_response({"value": [schemas.inbox_json(m) for m in messages]})

    async def set_handset(request: Request, _: Principal) -> Response:
        number = request.path_params["number"]
        body = decode_json(await read_body(request), schemas.HandsetRequest)
        try:
            report = HandsetReport(body.delivery_report)
        except ValueError:
            choices = ", ".join(r.value for r in HandsetReport)
            raise BadRequestError(
                f"deliveryReport must be one of {choices}.", target="deliveryReport"
            ) from None
        if not is_e164(number) or not 0 <= body.delay_seconds <= 86_400:
            raise BadRequestError("An E.164 number and a delay of 0..86400 s are needed.")
        behaviour = HandsetBehaviour(number, report, int(body.delay_seconds * 1000))
        await store.set_behaviour(behaviour)
        return json_response(
            {"number": number, "deliveryReport": report.value, "delaySeconds": body.delay_seconds}
        )

    admin = routes_for(auth=Auth.HMAC, authenticator=authenticator)
    return [
        admin("/admin/simulator/sms:send", inject, "POST"),
        admin("/admin/simulator/sms/inbox", inbox, "GET"),
        admin("/admin/simulator/handsets/{number}", set_handset, "PUT"),
    ]
