"""Events customers hear about: written with the change that caused them (the webhook outbox),
read back as the live feed, and relay presence.
"""
