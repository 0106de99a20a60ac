"""SIP routing: ACS's SIP Routing API (``/sip``) and the ``switchboard trunks`` CLI over one
stored routing table (docs/sip.md).

models.py      SipTrunk (ACS's FQDN, port, enabled + our TrunkSettings), SipRoute, errors
validation.py  the one set of checks (config file, API, CLI)
store.py       SipRoutingStore (a revisioned whole table) + MemorySipRoutingStore
sql_store.py   SqlSipRoutingStore (tables.py; migration 0014)
service.py     SipRoutingService: merge-patch, CLI edits, the config file at start; announces
               each change on the bus (SIP_ROUTING_CHANGED) for every node's SIP gateway
schemas.py     ACS's JSON · routes.py GET/PATCH /sip · cli.py ``switchboard trunks``
"""
