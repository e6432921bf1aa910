"""The student side of screening: entering a sitting, answering with autosave, submitting.

Students are not Django users. A signed, HttpOnly cookie (see `session.py`) binds the browser to
one assignment; every request re-checks the assignment and its campaign in SQL.
"""
