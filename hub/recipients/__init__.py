"""The address book: recipients, their lists, CSV import and the search index text."""
