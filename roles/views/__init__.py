"""The workforce app's pages, by what they serve: security reminders, the CSV import, the reminder calendar."""
