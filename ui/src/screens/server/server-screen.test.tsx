import { describe, expect, it } from "vitest";
import { screen } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { makeServer } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

const noServer = { server: null, account: null } as const;

describe("Server screen", () => {
  it("validates the address before asking the server", async () => {
    const { user, backend } = renderApp({ path: "/server", backend: noServer });
    await user.click(await screen.findByTestId("server-connect"));
    expect(await screen.findByText("Enter the server's address.")).toBeInTheDocument();
    await user.type(screen.getByTestId("server-url"), "countersign dot bank");
    await user.click(screen.getByTestId("server-connect"));
    expect(await screen.findByText(/Enter a full address starting with https:\/\//)).toBeInTheDocument();
    expect(backend.callsOf("server_set")).toEqual([]);
    await expectNoSeriousA11yViolations();
  });

  it("connects, saves and moves on to sign-in", async () => {
    const { user, backend, router } = renderApp({ path: "/server", backend: noServer });
    await user.type(await screen.findByTestId("server-url"), "  https://countersign.bank.example  ");
    await user.click(screen.getByTestId("server-connect"));
    expect(await screen.findByTestId("sign-in-0")).toBeInTheDocument();
    expect(backend.callsOf("server_set")).toEqual([{ url: "https://countersign.bank.example" }]);
    expect(router.state.location.pathname).toBe("/sign-in");
  });

  it("shows Checking… while the server is being checked", async () => {
    const { user } = renderApp({
      path: "/server",
      backend: { ...noServer, overrides: { server_set: forever } },
    });
    await user.type(await screen.findByTestId("server-url"), "https://a.example");
    await user.click(screen.getByTestId("server-connect"));
    expect(await screen.findByRole("button", { name: /Checking…/ })).toBeDisabled();
  });

  it.each([
    ["network", /Can't reach the server/],
    ["tls", /security certificate could not be verified/],
    ["not_countersign", /That address answers but is not a Countersign server/],
    ["config_invalid", /sign-in configuration is incomplete/],
  ] as const)("says %s in words next to the field", async (code, words) => {
    const { user } = renderApp({
      path: "/server",
      backend: { ...noServer, overrides: { server_set: () => { throw fail(code, "raw detail"); } } },
    });
    await user.type(await screen.findByTestId("server-url"), "https://a.example");
    await user.click(screen.getByTestId("server-connect"));
    const message = await screen.findByText(words);
    expect(message).toHaveAttribute("role", "alert");
    expect(screen.getByTestId("server-url")).toHaveAttribute("aria-invalid", "true");
    if (code.includes("_")) expect(document.body.textContent).not.toContain(code);
    expect(document.body.textContent).not.toContain("raw detail");
  });

  it("is reachable from sign-in to change the server, showing where the URL came from", async () => {
    const { user } = renderApp({
      path: "/sign-in",
      backend: { account: null, server: makeServer({ url: "https://old.example", source: "env" }) },
    });
    await user.click(await screen.findByRole("link", { name: "Change server" }));
    expect(await screen.findByTestId("server-url")).toHaveValue("https://old.example");
    expect(screen.getByText(/COUNTERSIGN_API_URL environment variable/)).toBeInTheDocument();
    await user.click(screen.getByRole("link", { name: "Back to sign-in" }));
    expect(await screen.findByTestId("sign-in-0")).toBeInTheDocument();
  });
});
