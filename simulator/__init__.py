"""A stand-in for the Smallest AI Atoms REST API, built on the standard library only.

It serves the campaign, audience, agent, phone-number and call-log endpoints under
`/atoms/v1` with the real wire format, drives campaigns through a deterministic dialing
model on a simulated clock, and exposes test controls under `/_sim`. Run it with
`python -m simulator --help`; `simulator/README.md` documents every choice it makes.
"""
