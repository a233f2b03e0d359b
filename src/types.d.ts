/** Text imports (`with { type: "text" }`) of the migration files. */
declare module "*.sql" {
  const text: string;
  export default text;
}
