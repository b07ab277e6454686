"""The onboarding steps a deployment-time record names (compiler/business/deploytime.py), in
the order they happen. One place for them: the record format, the webhook that records the
first two, and `clawtex deploytime`'s argument choices all read them from here. This module
imports nothing, so the command line's parser reads it without loading git or tenacity."""

EVENT_RECEIVED = "event_received"   # the Stripe event reached the webhook
PR_OPENED = "pr_opened"
MERGED = "merged"
APPLY_FINISHED = "apply_finished"
SMOKE_PASSED = "smoke_passed"
WELCOME_SENT = "welcome_sent"
FAILED = "failed"                   # instead of the later steps: a stack did not apply or pass its smoke test

STEPS = (EVENT_RECEIVED, PR_OPENED, MERGED, APPLY_FINISHED, SMOKE_PASSED, WELCOME_SENT, FAILED)
