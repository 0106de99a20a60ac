"""Call Automation: the call management service (ACS ``/calling/callConnections``).

An application's server places, answers and controls calls; outcomes reach it as CloudEvents
POSTed to its callback URI. See docs/automation.md for the flow and the seams it uses
(calling's server calls, the media node's local legs, the media endpoint).
"""
