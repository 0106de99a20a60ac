"""Group calls and Room calls, with their media on the SFU.

``host`` (``ConferenceHost``: a node's conferences, placement of new ones) · ``conference``
(one call's jobs) · ``group`` (``GroupCall``, sans-I/O rules) · ``admission`` (rooms, lobby,
window) · ``media`` (the SFU and SDP) · ``events`` (Event Grid lifecycle) · ``placement``
(which node owns a call: local, Redis).
"""
