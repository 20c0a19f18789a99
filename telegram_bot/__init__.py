"""Forewarn's Telegram bot: alerts in the team's chats, machine status one command away."""
