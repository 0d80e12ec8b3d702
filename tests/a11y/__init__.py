"""Automated accessibility basics and server-side page speed."""
