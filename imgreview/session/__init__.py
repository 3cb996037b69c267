"""The session folder (``.imgreview/``): its layout and lock, the decision journal, durable JSON lines."""
