"""1:1 calls: ``session`` (``CallSession``, the sans-I/O state machine) and ``calls``
(``TwoPartyCalls``: the sessions this node owns, ringing this node's devices, timers)."""
