"""The staff registry (issue 14, R12): staff records without accounts, positions over time,
qualifications, the bulk import, the coverage of schools by psychology teachers. Accounts and
leaving (which touch role assignments) live in access (access/staffing.py)."""
