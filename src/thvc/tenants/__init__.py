"""Tenants: state agencies, municipalities and external organisations."""
