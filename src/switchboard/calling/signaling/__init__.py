"""The device side of calling: the socket, its frames, and the devices on this node.

``protocol`` · ``requests`` · ``frames`` (the typed wire frames of ``switchboard.calling.v1``,
shared with the Python client) · ``endpoint`` (the WebSocket) · ``hub`` (local devices,
numbered frames, replay) · ``registration`` (register, resume, grace, drop).
"""
