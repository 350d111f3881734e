import type { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type TableDefinition, type TableName, tableDefinitions } from '../../shared/tables.js';

export interface TablesProps {
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
}

/**
 * Every table of shared/tables.ts, with the key layout the local runner and the tests use: on-demand,
 * point-in-time recovery, TTL clean-up where the definition names an expiry attribute.
 */
export class Tables extends Construct {
  readonly tables: Readonly<Record<TableName, ITable>>;

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    const tables: Partial<Record<TableName, ITable>> = {};
    for (const [name, definition] of Object.entries(tableDefinitions) as [TableName, TableDefinition][]) {
      tables[name] = this.createTable(name, definition, props);
    }
    this.tables = tables as Record<TableName, ITable>;
  }

  /** `{USERS_TABLE: <name>, ...}` for the functions' environment. */
  get environment(): Record<string, string> {
    return Object.fromEntries(
      (Object.entries(tableDefinitions) as [TableName, TableDefinition][]).map(([name, definition]) => [
        definition.envVar,
        this.tables[name].tableName,
      ]),
    );
  }

  private createTable(name: TableName, definition: TableDefinition, props: TablesProps): Table {
    const logicalId = name.charAt(0).toUpperCase() + name.slice(1);
    return new Table(this, logicalId, {
      partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
      ...(definition.sortKey ? { sortKey: { name: definition.sortKey, type: AttributeType.STRING } } : {}),
      ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
      ...(definition.stream === 'NEW_IMAGE' ? { stream: StreamViewType.NEW_IMAGE } : {}),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
    });
  }
}
