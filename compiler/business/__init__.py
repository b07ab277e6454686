"""Business side of the fleet: Stripe onboarding, the webhook that turns
billing events into pull requests, revenue/cost reports, SLA credits and the
customer handoff document. Everything reads the same plan as the compiler."""
