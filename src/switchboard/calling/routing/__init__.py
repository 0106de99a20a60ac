"""How calling messages reach a call's owner node and a device's node.

``router`` (the ``CallRouter`` Protocol) · ``local`` (one node: objects passed directly) ·
``bus`` (several nodes: messages over the bus, still direct for this node) · ``messages``
(what crosses: typed, tagged by ``k``).
"""
