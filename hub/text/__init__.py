"""What a message may say and where it may go: SMS text measurement, control-character rules,
phone numbers.
"""
