"""The voice simulator's admin API (HMAC with the access key, like every /admin route).

PUT    /admin/simulator/voice/phones/{number}          create, or set its rules (and
                                                       "transcribe": recognise speech)
GET    /admin/simulator/voice/phones                   every phone's status
GET    /admin/simulator/voice/phones/{number}          its status and what it heard
DELETE /admin/simulator/voice/phones/{number}
POST   /admin/simulator/voice/phones/{number}:dial     {"to"}  it calls one of our numbers
POST   /admin/simulator/voice/phones/{number}:answer   it picks up (rule "manual")
POST   /admin/simulator/voice/phones/{number}:hangUp
POST   /admin/simulator/voice/phones/{number}:say      {"text", "locale"}  espeak-ng speech
POST   /admin/simulator/voice/phones/{number}:press    {"keys": "12#"}  in-band DTMF
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.errors import BadRequestError
from switchboard.core.principal import Principal
from switchboard.gateways.voicesim import schemas
from switchboard.gateways.voicesim.network import VoiceSimulator
from switchboard.gateways.voicesim.phone import AnswerRule
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, json_response, read_body
from switchboard.http.routing import Auth, routes_for
from switchboard.sms.models import is_e164

PREFIX = "/admin/simulator/voice/phones"
MAX_ANSWER_AFTER_MS = 600_000


def _number(request: Request) -> str:
    number: str = request.path_params["number"]
    if not is_e164(number):
        raise BadRequestError(f"'{number}' is not an E.164 phone number.", target="number")
    return number


def voice_simulator_routes(
    simulator: VoiceSimulator, authenticator: Authenticator
) -> list[BaseRoute]:
    async def put_phone(request: Request, _: Principal) -> Response:
        number = _number(request)
        body = decode_json(await read_body(request), schemas.PhoneRequest, allow_empty=True)
        rule: AnswerRule | None = None
        if body.answer is not None:
            try:
                rule = AnswerRule(body.answer)
            except ValueError:
                choices = ", ".join(r.value for r in AnswerRule)
                raise BadRequestError(
                    f"answer must be one of {choices}.", target="answer"
                ) from None
        after = body.answer_after_ms
        if after is not None and not 0 <= after <= MAX_ANSWER_AFTER_MS:
            raise BadRequestError(
                f"answerAfterMs must be 0..{MAX_ANSWER_AFTER_MS}.", target="answerAfterMs"
            )
        phone = simulator.set_phone(number, rule, after, body.transcribe)
        return json_response(schemas.phone_json(phone))

    async def list_phones(request: Request, _: Principal) -> Response:
        phones = sorted(simulator.phones.values(), key=lambda p: p.number)
        return json_response({"value": [schemas.phone_json(p) for p in phones]})

    async def get_phone(request: Request, _: Principal) -> Response:
        return json_response(schemas.phone_json(simulator.phone(_number(request))))

    async def delete_phone(request: Request, _: Principal) -> Response:
        simulator.remove_phone(_number(request))
        return Response(status_code=204)

    async def action(request: Request, _: Principal) -> Response:
        number = _number(request)
        verb = request.path_params["action"]
        body = await read_body(request)
        if verb == "dial":
            dial = decode_json(body, schemas.DialRequest)
            if not is_e164(dial.to):
                raise BadRequestError(f"'{dial.to}' is not an E.164 phone number.", target="to")
            simulator.call_from(number, dial.to)
        elif verb == "answer":
            simulator.answer(number)
        elif verb == "hangUp":
            simulator.hang_up(number)
        elif verb == "say":
            say = decode_json(body, schemas.SayRequest)
            await simulator.say(number, say.text, say.locale)
        elif verb == "press":
            simulator.press(number, decode_json(body, schemas.PressRequest).keys)
        elif verb == "tone":
            tone = decode_json(body, schemas.ToneRequest)
            simulator.tone(number, tone.frequency_hz, tone.duration_ms)
        else:
            raise BadRequestError(f"No action '{verb}': dial, answer, hangUp, say, press, tone.")
        return json_response(schemas.phone_json(simulator.phone(number)), 202)

    admin = routes_for(auth=Auth.HMAC, authenticator=authenticator)
    return [
        admin(PREFIX, list_phones, "GET"),
        admin(PREFIX + "/{number}:{action}", action, "POST"),
        admin(PREFIX + "/{number}", put_phone, "PUT"),
        admin(PREFIX + "/{number}", get_phone, "GET"),
        admin(PREFIX + "/{number}", delete_phone, "DELETE"),
    ]
