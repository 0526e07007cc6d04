"""CLI command groups.  Each module has ``register(sub)`` adding its subcommands; each
subcommand sets ``func=handler`` where ``handler(args, ctx) -> int``.  Heavy imports stay
inside the handlers so that ``qrpay --help`` is instant."""

MODULES = (
    "qrpay.commands.explain",
    "qrpay.commands.db",
    "qrpay.commands.bills",
    "qrpay.commands.callback",
    "qrpay.commands.qr",
    "qrpay.commands.render",
    "qrpay.commands.serve",
    "qrpay.commands.staff",
    "qrpay.commands.recon",
    "qrpay.commands.report",
    "qrpay.commands.channel",
    "qrpay.commands.payments",
    "qrpay.commands.chat",
    "qrpay.commands.sms",
)
