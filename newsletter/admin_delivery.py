"""Admin for SendGrid delivery events and the operator dashboard."""
