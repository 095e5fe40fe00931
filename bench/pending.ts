/** A section whose subject does not exist yet; `npm run bench` reports it as "pending: <why>". */
export class Pending extends Error {}
