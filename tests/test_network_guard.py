"""The suite itself refuses to talk to a hosted LLM."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import RealNetworkCallError


def test_a_request_to_a_real_provider_fails_loudly() -> None:
    with pytest.raises(RealNetworkCallError, match=r"api\.openai\.com"):
        httpx.get("https://api.openai.com/v1/models", timeout=2)


def test_the_openai_client_cannot_reach_its_api() -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="gpt-4.1-mini", api_key="sk-test", max_retries=0, timeout=2)
    with pytest.raises(Exception) as caught:
        model.invoke("hello")
    chain = [caught.value, caught.value.__cause__, caught.value.__context__]
    assert any(isinstance(e, RealNetworkCallError) for e in chain) or "api.openai.com" in str(
        caught.value.__cause__ or caught.value
    )
