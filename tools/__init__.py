"""Tools around the platform, not part of it: the demo and its inbox and re-settlement, the
benchmark, the money preview (SQLMesh), the VEE score, the real-data converter and the
sample-data generator. They import the platform; the platform never imports them."""
