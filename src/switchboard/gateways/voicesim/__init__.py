"""The simulator carrier's voice network: virtual phones (an adapter: calling's VoiceCarrier).

ear.py      what a phone heard: DTMF keys, speech energy over time (sans-I/O)
rules.py    AnswerRule (light: the CLI offers its choices)
phone.py    VirtualPhone (rules, state, a call's media) and SimCall (calling's handle)
network.py  VoiceSimulator: the carrier (dial), the phones, the 20 ms tick
schemas.py  routes.py   the admin API (/admin/simulator/voice/phones/…)
cli.py      ``switchboard sim call …`` over that API
"""
