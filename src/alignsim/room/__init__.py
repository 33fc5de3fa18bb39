"""The seminar room (issue 16): students play countries, the model plays the rest.

:mod:`~alignsim.room.room` is the game's state machine and its file, :mod:`~alignsim.room.world`
the Mesa driver with humans' moves imposed, :mod:`~alignsim.room.registry` the rooms of one
server, :mod:`~alignsim.room.views` what every screen shows (HTML/SVG text),
:mod:`~alignsim.room.debrief` the class against the model's ensemble, :mod:`~alignsim.room.briefing`
the countries' briefing cards, and :mod:`~alignsim.room.page` the thin Solara page.
"""
