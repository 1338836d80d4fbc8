"""The training calendar's messages (45 CFR 164.308(a)(5)(i), 164.530(b)): reminders, escalations, nudges.

By job:

- `schedule`: what is due today under the `ReminderPolicy` and the periodic `reminders_send()`.
- `claims`: the at-most-once protocol every message goes through (claim, send, resume after a dead worker).
- `mailer`: turning claimed rows into e-mails, sending them over one connection, marking them sent.
- `nudges`: a compliance officer reminding one person now.
- `policy`: changing the calendar.

Security reminders (bulletins, `roles.bulletins`) use the same claims and mailer.
"""
