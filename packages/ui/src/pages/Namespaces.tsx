import { useEffect, useState } from 'react';
import { api } from '../api';
import { ErrorBox } from '../components/common';
import { durationMs, formatDuration } from '../format';
import { Link, enc } from '../router';
import type { NamespaceList } from '../types';

export function Namespaces() {
  const [list, setList] = useState<NamespaceList['namespaces']>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api.listNamespaces().then((r) => setList(r.namespaces), setError);
  }, []);
  return (
    <div className="page">
      <div className="page-head">
        <h2>Namespaces</h2>
      </div>
      <ErrorBox error={error} />
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th>Retention</th>
            <th>Description</th>
            <th>Owner</th>
            <th>Id</th>
          </tr>
        </thead>
        <tbody>
          {list?.map((n) => {
            const name = n.namespaceInfo?.name ?? '';
            return (
              <tr key={name}>
                <td>
                  <Link to={`/namespaces/${enc(name)}/workflows`}>
                    <b>{name}</b>
                  </Link>
                </td>
                <td>{(n.namespaceInfo?.state ?? '').replace('NAMESPACE_STATE_', '')}</td>
                <td>{formatDuration(durationMs(n.config?.workflowExecutionRetentionTtl))}</td>
                <td>{n.namespaceInfo?.description}</td>
                <td>{n.namespaceInfo?.ownerEmail}</td>
                <td className="mono muted">{n.namespaceInfo?.id}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
