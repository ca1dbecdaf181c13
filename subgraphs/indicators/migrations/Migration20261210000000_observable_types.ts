import { Migration } from "@mikro-orm/migrations";

/** STIX imports carry SHA-512 hashes and file names as indicators of their own. */
export class Migration20261210000000_observable_types extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table indicators.indicator drop constraint indicator_type_check`);
    this.addSql(`
      alter table indicators.indicator add constraint indicator_type_check
        check (type in ('IPV4', 'IPV6', 'CIDR', 'DOMAIN', 'URL', 'EMAIL', 'MD5', 'SHA1', 'SHA256', 'SHA512', 'FILE_NAME'))`);
  }
}
