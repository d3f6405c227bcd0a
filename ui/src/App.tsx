import { useEffect, useState } from "react";
import { invoke } from "@tauri-apps/api/core";

export function App() {
  const [version, setVersion] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    invoke<string>("app_version")
      .then(setVersion)
      .catch((e: unknown) => setError(String(e)));
  }, []);

  return (
    <main>
      <h1>Countersign</h1>
      {error ? (
        <p role="alert">Could not read the version: {error}</p>
      ) : (
        <p data-testid="app-version">Version {version ?? "…"}</p>
      )}
    </main>
  );
}
