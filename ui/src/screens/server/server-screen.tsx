import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { TriangleAlertIcon } from "lucide-react";
import { serverSet } from "@/bindings/commands";
import type { ServerSource } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import {
  Form,
  FormControl,
  FormDescription,
  FormField,
  FormItem,
  FormLabel,
  FormMessage,
} from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { Spinner } from "@/components/ui/spinner";
import { CenteredPane } from "@/components/centered-pane";
import { errorWords } from "@/lib/errors";
import { appStateQuery } from "@/lib/queries";
import { useDocumentTitle } from "@/lib/title";

export const SOURCE_WORDS: Record<ServerSource, string> = {
  env: "set by the COUNTERSIGN_API_URL environment variable",
  user_config: "from your settings file",
  system_config: "from this computer's configuration",
  entered: "entered here",
};

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.hostname.length > 0;
  } catch {
    return false;
  }
}

const schema = z.object({
  url: z
    .string()
    .trim()
    .min(1, "Enter the server's address.")
    .refine(isHttpUrl, "Enter a full address starting with https://, e.g. https://countersign.example.com"),
});
type Values = z.infer<typeof schema>;

export function ServerScreen() {
  useDocumentTitle("Connect to a server");
  const { data: state } = useSuspenseQuery(appStateQuery);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { url: state.server?.url ?? "" },
  });

  const connect = useMutation({
    mutationFn: (url: string) => serverSet(url),
    onSuccess: (next) => {
      queryClient.setQueryData(appStateQuery.queryKey, next);
      void navigate({ to: "/", replace: true });
    },
    onError: (error) => form.setError("url", { message: errorWords(error) }),
  });

  return (
    <CenteredPane
      footer={`Countersign ${state.client_version}`}
    >
      <h1 className="text-lg font-semibold">Connect to your Countersign server</h1>
      <p className="text-muted-foreground mt-1 text-sm">
        Enter the address your IT team gave you. Countersign checks it and remembers it.
      </p>

      {state.server_error && (
        <div
          role="alert"
          className="border-destructive/30 bg-destructive/5 text-destructive mt-4 flex gap-2 rounded-md border px-3 py-2 text-sm"
        >
          <TriangleAlertIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
          <span>
            The configured server could not be used. {errorWords(state.server_error)}
          </span>
        </div>
      )}

      <Form {...form}>
        <form
          noValidate
          className="mt-5 grid gap-4"
          onSubmit={form.handleSubmit((values) => connect.mutate(values.url.trim()))}
        >
          <FormField
            control={form.control}
            name="url"
            render={({ field }) => (
              <FormItem>
                <FormLabel>Server address</FormLabel>
                <FormControl>
                  <Input
                    {...field}
                    type="url"
                    inputMode="url"
                    autoComplete="url"
                    spellCheck={false}
                    autoFocus
                    placeholder="https://countersign.example.com"
                    data-testid="server-url"
                  />
                </FormControl>
                {state.server && (
                  <FormDescription>
                    Now: {state.server.url} ({SOURCE_WORDS[state.server.source]}).
                  </FormDescription>
                )}
                <FormMessage />
              </FormItem>
            )}
          />
          <div className="flex items-center gap-2">
            <Button type="submit" disabled={connect.isPending} data-testid="server-connect">
              {connect.isPending && <Spinner />}
              {connect.isPending ? "Checking…" : "Connect"}
            </Button>
            {state.server && !state.server_error && (
              <Button asChild variant="ghost">
                <Link to="/sign-in">Back to sign-in</Link>
              </Button>
            )}
          </div>
        </form>
      </Form>
    </CenteredPane>
  );
}
