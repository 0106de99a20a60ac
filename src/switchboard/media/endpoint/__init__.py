"""The app's media endpoint in a call: play, recognize, DTMF, hold music (Call Automation's
media side), on a local leg of the SFU. ``models`` holds the requests and events."""
