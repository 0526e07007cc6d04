"""The keyed bill token: binds biller, bill, amount and payee; keys rotate by key id."""

from __future__ import annotations

import dataclasses

from qrpay.payload.token import MAC_CHARS, check_token, make_token, split_token


def test_token_is_key_id_dot_twelve_base64url_characters(best):
    config, _, _ = best
    token = make_token(config, "best", "B2611100000000", 123450, "bestelectricity@sbi")
    kid, mac = split_token(token)
    assert kid == "k1" and len(mac) == MAC_CHARS == 12
    assert set(mac) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_token_checks_only_for_the_exact_values_it_was_made_for(best):
    config, _, _ = best
    args = ("best", "B2611100000000", 123450, "bestelectricity@sbi")
    token = make_token(config, *args)
    assert check_token(config, token, *args)
    assert not check_token(config, token, "best", "B2611100000000", 123451, args[3])
    assert not check_token(config, token, "best", "B2611100000001", 123450, args[3])
    assert not check_token(config, token, "best", args[1], 123450, "fraud@ybl")
    assert not check_token(config, token, "other", *args[1:])


def test_malformed_tokens_never_check(best):
    config, _, _ = best
    args = ("best", "B2611100000000", 123450, "bestelectricity@sbi")
    for junk in ("", "k1.", "k1.short", "nokid", "k1.AAAAAAAAAAAA", "k9." + "A" * 12):
        assert not check_token(config, junk, *args)


def test_old_key_still_checks_after_rotation(best, monkeypatch):
    config, _, _ = best
    args = ("best", "B2611100000000", 123450, "bestelectricity@sbi")
    old_token = make_token(config, *args)
    monkeypatch.setenv("QRPAY_TOKEN_KEY_K2", "the-new-key-0123456789")
    monkeypatch.setenv("QRPAY_TOKEN_OLD_KEYS", "k1")
    rotated = dataclasses.replace(config, token_key_id="k2")
    new_token = make_token(rotated, *args)
    assert new_token.startswith("k2.") and new_token != old_token
    assert check_token(rotated, old_token, *args)
    assert check_token(rotated, new_token, *args)
    monkeypatch.delenv("QRPAY_TOKEN_OLD_KEYS")
    assert not check_token(rotated, old_token, *args)


def test_a_different_key_gives_a_different_token(best, monkeypatch):
    config, _, _ = best
    args = ("best", "B2611100000000", 123450, "bestelectricity@sbi")
    token = make_token(config, *args)
    monkeypatch.setenv("QRPAY_TOKEN_KEY_K1", "another-secret-entirely")
    assert not check_token(config, token, *args)
