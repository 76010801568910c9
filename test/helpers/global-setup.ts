// Replaced by the store work: finds or starts Elasticsearch for the run (ES_URL, testcontainers, Maven node).
export default async function setup(): Promise<void> {}
