"""The SMS query service: customers text a query code, the service answers from a snapshot.

    uvicorn notifications.sms_query.app:create_app --factory --host 127.0.0.1 --port 8025

A gateway posts an inbound SMS to `/sms/inbound/<gateway>` (signed with HMAC-SHA256 over the raw
body); the adapter of that gateway (`inbound.py`) turns it into `InboundSms` records, stored
once per (gateway, message_id) in the service's own DuckDB file (`state.py`); the sender's number
is matched to a customer contact and the query code (`codes.py`, `query_codes.csv`) answered
from the service snapshot (`answers.py`, written by `snapshot.py`), never from the warehouse;
the reply goes out through `DeliveryService` as notice type `sms_reply`, so every reply has a
delivery-ledger row (in the service's file). See README.md in this folder.
"""
