// Shared by the Slack samples: post to the webhook in SLACK_WEBHOOK_URL, or say so and print.
let warned = false;

export async function postToSlackWebhook(text: string): Promise<void> {
  const url = process.env.SLACK_WEBHOOK_URL;
  if (!url) {
    if (!warned) console.log("(SLACK_WEBHOOK_URL is not set: printing Slack messages to the console instead)");
    warned = true;
    console.log(`[slack] ${text}`);
    return;
  }
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text }),
    signal: AbortSignal.timeout(10_000),
  });
  // A failed post throws, so (like any state handler error) the task fails.
  if (!response.ok) throw new Error(`Slack answered ${response.status}: ${await response.text()}`);
}
